// setsockopt/getsockopt with an int value on a socket's file descriptor, for Node (N-API, Linux).
// Node has no API for socket options other than no-delay and keep-alive; the speed test sets
// SO_RCVLOWAT on its receiving sockets with this. Built by scripts/build-native.sh; optional at run time.
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#define NAPI_VERSION 8
#include <node_api.h>

static int int_arg(napi_env env, napi_value v, int *out) {
  return napi_get_value_int32(env, v, out) == napi_ok;
}

static napi_value throw_errno(napi_env env, const char *call, int err) {
  char msg[160];
  snprintf(msg, sizeof msg, "%s: %s", call, strerror(err));
  napi_throw_error(env, err == EBADF ? "EBADF" : err == EINVAL ? "EINVAL" : err == ENOTSOCK ? "ENOTSOCK"
                                                 : err == ENOPROTOOPT ? "ENOPROTOOPT" : "ESOCKOPT",
                   msg);
  return NULL;
}

// setInt(fd, level, name, value): undefined; throws on failure
static napi_value set_int(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  int fd, level, name, value;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 4 ||
      !int_arg(env, argv[0], &fd) || !int_arg(env, argv[1], &level) || !int_arg(env, argv[2], &name) ||
      !int_arg(env, argv[3], &value)) {
    napi_throw_type_error(env, NULL, "setInt(fd, level, name, value): four integers");
    return NULL;
  }
  if (setsockopt(fd, level, name, &value, sizeof value) != 0) return throw_errno(env, "setsockopt", errno);
  return NULL;
}

// getInt(fd, level, name): number; throws on failure
static napi_value get_int(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  int fd, level, name, value = 0;
  socklen_t len = sizeof value;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 3 ||
      !int_arg(env, argv[0], &fd) || !int_arg(env, argv[1], &level) || !int_arg(env, argv[2], &name)) {
    napi_throw_type_error(env, NULL, "getInt(fd, level, name): three integers");
    return NULL;
  }
  if (getsockopt(fd, level, name, &value, &len) != 0) return throw_errno(env, "getsockopt", errno);
  napi_value out;
  napi_create_int32(env, value, &out);
  return out;
}

static void set_fn(napi_env env, napi_value exports, const char *name, napi_callback cb) {
  napi_value fn;
  napi_create_function(env, name, NAPI_AUTO_LENGTH, cb, NULL, &fn);
  napi_set_named_property(env, exports, name, fn);
}

static void set_const(napi_env env, napi_value exports, const char *name, int value) {
  napi_value v;
  napi_create_int32(env, value, &v);
  napi_set_named_property(env, exports, name, v);
}

NAPI_MODULE_INIT() {
  set_fn(env, exports, "setInt", set_int);
  set_fn(env, exports, "getInt", get_int);
  set_const(env, exports, "SOL_SOCKET", SOL_SOCKET);
  set_const(env, exports, "SO_RCVLOWAT", SO_RCVLOWAT);
  set_const(env, exports, "SO_RCVBUF", SO_RCVBUF);
  set_const(env, exports, "SO_SNDBUF", SO_SNDBUF);
  set_const(env, exports, "IPPROTO_TCP", IPPROTO_TCP);
  set_const(env, exports, "TCP_NODELAY", TCP_NODELAY);
  return exports;
}

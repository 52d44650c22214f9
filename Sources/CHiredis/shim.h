#ifndef FIREHOSE_CHIREDIS_SHIM_H
#define FIREHOSE_CHIREDIS_SHIM_H
// System headers first (see CLibevent/shim.h), then libevent, then hiredis and its libevent adapter,
// whose static functions (redisLibeventAttach) import as ordinary Swift functions.
#include <sys/types.h>
#include <sys/time.h>
#include <sys/socket.h>
#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <hiredis/async.h>
#include <hiredis/adapters/libevent.h>
#endif

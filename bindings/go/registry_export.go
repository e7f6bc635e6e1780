package dci

/*
#include <stdint.h>
#include <stdlib.h>
*/
import "C"

import (
	"encoding/json"
	"runtime/cgo"
	"time"
	"unsafe"
)

// The Go functions libdci calls back (through the shims in registry.go): ctx points at C
// memory holding the cgo.Handle of the host's function. A panic in the host's function is a
// failed lookup or store, never a crash of the process.

func handleAt(ctx unsafe.Pointer) cgo.Handle {
	return cgo.Handle(*(*C.uintptr_t)(ctx))
}

//export goSenderLookup
func goSenderLookup(ctx unsafe.Pointer, senderID *C.char, out **C.char) (rc C.int) {
	defer func() {
		if recover() != nil {
			rc = 2
		}
	}()
	f := handleAt(ctx).Value().(SenderLookup)
	s, err := f(C.GoString(senderID))
	if err != nil {
		return 2
	}
	if s == nil {
		return 1
	}
	b, err := json.Marshal(s)
	if err != nil {
		return 2
	}
	// malloc'ed: libdci frees it with free().
	*out = C.CString(string(b))
	return 0
}

//export goReplayCheck
func goReplayCheck(ctx unsafe.Pointer, senderID, messageID *C.char, nowMS, windowMS C.int64_t) (rc C.int) {
	defer func() {
		if recover() != nil {
			rc = 2
		}
	}()
	f := handleAt(ctx).Value().(ReplayCheck)
	first, err := f(C.GoString(senderID), C.GoString(messageID), time.UnixMilli(int64(nowMS)),
		time.Duration(windowMS)*time.Millisecond)
	switch {
	case err != nil:
		return 2
	case first:
		return 1
	default:
		return 0
	}
}

//go:build linux

package h1client

import (
	"syscall"
	"unsafe"
)

// readNonBlocking is read(2) on a non-blocking descriptor. It cannot block,
// so it is issued as a raw system call: no handoff of the P to the
// scheduler, which syscall.Read would pay (entersyscall/exitsyscall) and
// which costs microseconds on a loaded machine.
func readNonBlocking(fd uintptr, b []byte) (int, error) {
	n, _, e := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
	if e != 0 {
		return -1, e
	}
	return int(n), nil
}

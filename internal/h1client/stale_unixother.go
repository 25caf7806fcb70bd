//go:build unix && !linux

package h1client

import "syscall"

// readNonBlocking is read(2) on a non-blocking descriptor.
func readNonBlocking(fd uintptr, b []byte) (int, error) {
	return syscall.Read(int(fd), b)
}

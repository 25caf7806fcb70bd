//go:build unix

package udpproxy

import (
	"net"
	"os"
	"syscall"
)

// readReplies reads the target's datagrams from up and hands each to
// reply, until reply says the session is done (nil) or reading fails.
//
// It waits for readability through the runtime's poller (RawConn.Read)
// without holding a buffer and takes a MaxDatagram buffer from the
// server's pool only for the read(2) itself: a session that is waiting —
// nearly all of them, nearly always — costs a goroutine and a socket, not
// 64 KiB.
func (s *session) readReplies(up *net.UDPConn) error {
	rc, err := up.SyscallConn()
	if err != nil {
		return err
	}
	var (
		bp   *[]byte
		n    int
		rerr error
	)
	read := func(fd uintptr) bool {
		if bp == nil {
			bp = s.srv.bufs.Get().(*[]byte)
		}
		for {
			n, rerr = syscall.Read(int(fd), *bp)
			if rerr != syscall.EINTR {
				break
			}
		}
		if rerr == syscall.EAGAIN || rerr == syscall.EWOULDBLOCK {
			s.srv.bufs.Put(bp)
			bp = nil
			return false // not readable yet: wait in the poller
		}
		return true
	}
	for {
		err := rc.Read(read)
		if err == nil && rerr != nil {
			err = os.NewSyscallError("read", rerr)
		}
		if err != nil {
			if bp != nil {
				s.srv.bufs.Put(bp)
				bp = nil
			}
			return err
		}
		more := s.reply((*bp)[:n])
		s.srv.bufs.Put(bp)
		bp = nil
		if !more {
			return nil
		}
	}
}

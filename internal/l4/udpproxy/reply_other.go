//go:build !unix

package udpproxy

import "net"

// readReplies reads the target's datagrams from up and hands each to
// reply, until reply says the session is done (nil) or reading fails.
// Without read(2) on the raw descriptor, each session holds its buffer.
func (s *session) readReplies(up *net.UDPConn) error {
	buf := make([]byte, s.srv.cfg.MaxDatagram)
	for {
		n, err := up.Read(buf)
		if err != nil {
			return err
		}
		if !s.reply(buf[:n]) {
			return nil
		}
	}
}

//go:build !unix

package h1client

import "net"

// probeConn is a no-op where read(2) on the raw socket is not available:
// a stale connection is then caught by the retry on a fresh connection.
type probeConn struct{}

func (p *probeConn) init(net.Conn) {}
func (p *probeConn) alive() bool   { return true }

package listener

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"time"
)

// HTTP/2 is served by net/http's bundled server; what it lacks for
// RFC 9113 conformance is added around it, never by a fork:
//
//   - configuration: SETTINGS_MAX_FRAME_SIZE advertised as 16384 (RFC 9113
//     §4.2's default; net/http advertises 1 MiB, so a client that assumes
//     the default and sends a larger HEADERS frame is not told
//     FRAME_SIZE_ERROR). Frames up to 16 KiB cost nothing extra: clients
//     split bodies into more DATA frames.
//   - h2Check in front of the server's reads, for malformed requests and
//     repeated settings (see h2Check).
//   - the client preface read before the server starts (TLS), and on h2c
//     listeners a first line that is no HTTP/1.x request line taken as a
//     failed HTTP/2 preface (see h2cFirstLine).
//
// The server is reached through the hand-off net/http itself uses:
// TLSNextProto, which net/http fills on the first Serve. enableH2Check
// primes it on a listener that fails at once, then wraps the two entries
// ("h2" after ALPN, "unencrypted_http2" for h2c prior knowledge) so that
// both reach the server through h2Check. The "unencrypted_http2" entry
// takes a connection whose preface was read, which suits both: for TLS the
// preface is read here (RFC 9113 §3.4: an invalid one is a connection
// error, and "a GOAWAY frame MAY be omitted").

// h2Config is the server configuration the check relies on.
func h2Config() *http.HTTP2Config {
	return &http.HTTP2Config{
		MaxReadFrameSize:          maxCheckedFrame,
		MaxDecoderHeaderTableSize: headerTableSize,
	}
}

const (
	nextProtoH2       = "h2"
	nextProtoH2Plain  = "unencrypted_http2" // net/http's key for h2c
	clientPreface     = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
	prefaceTimeoutMax = 10 * time.Second // as net/http's HTTP/2 server
)

// enableH2Check makes srv serve HTTP/2 through h2Check. srv must have
// HTTP/2 or unencrypted HTTP/2 enabled in Protocols and not be serving.
func enableH2Check(srv *http.Server, prefaceTimeout time.Duration) error {
	srv.HTTP2 = h2Config()
	_ = srv.Serve(failListener{}) // fills srv.TLSNextProto, returns at once
	plain := srv.TLSNextProto[nextProtoH2Plain]
	if plain == nil || srv.TLSNextProto[nextProtoH2] == nil {
		return errors.New("net/http did not install its HTTP/2 server")
	}
	// The check's HPACK string limit is above the server's (MaxHeaderBytes
	// plus a few hundred bytes): a longer string makes the server close the
	// connection, so the check never stands aside while the server goes on.
	maxHeader := srv.MaxHeaderBytes
	if maxHeader <= 0 {
		maxHeader = http.DefaultMaxHeaderBytes
	}
	maxHeader = 2*maxHeader + 4096
	if prefaceTimeout <= 0 || prefaceTimeout > prefaceTimeoutMax {
		prefaceTimeout = prefaceTimeoutMax
	}
	srv.TLSNextProto[nextProtoH2] = func(hs *http.Server, tc *tls.Conn, h http.Handler) {
		tc.SetReadDeadline(time.Now().Add(prefaceTimeout))
		var got [len(clientPreface)]byte
		if _, err := io.ReadFull(tc, got[:]); err != nil || string(got[:]) != clientPreface {
			tc.Close()
			return
		}
		tc.SetReadDeadline(time.Time{})
		plain(hs, handOff(&tlsH2Check{newH2Check(tc, maxHeader), tc}), h)
	}
	srv.TLSNextProto[nextProtoH2Plain] = func(hs *http.Server, tc *tls.Conn, h http.Handler) {
		nc, ok := tc.NetConn().(interface{ UnencryptedNetConn() net.Conn })
		if !ok {
			tc.Close()
			return
		}
		plain(hs, handOff(newH2Check(nc.UnencryptedNetConn(), maxHeader)), h)
	}
	return nil
}

// tlsH2Check is h2Check over TLS: the server reads the TLS state through
// ConnectionState, as it does from a *tls.Conn.
type tlsH2Check struct {
	*h2Check
	tc *tls.Conn
}

func (c *tlsH2Check) ConnectionState() tls.ConnectionState { return c.tc.ConnectionState() }

// handOff packs c the way net/http passes an h2c connection to its HTTP/2
// server: in a *tls.Conn that is never used as one.
func handOff(c net.Conn) *tls.Conn {
	return tls.Client(plainConn{conn: c}, nil)
}

type plainConn struct {
	net.Conn // nil: no method of it is called
	conn     net.Conn
}

func (c plainConn) UnencryptedNetConn() net.Conn { return c.conn }

// failListener makes Serve return as soon as it has set up.
type failListener struct{}

var errPrimed = errors.New("listener: priming net/http's HTTP/2 set-up")

func (failListener) Accept() (net.Conn, error) { return nil, errPrimed }
func (failListener) Close() error              { return nil }
func (failListener) Addr() net.Addr            { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }

// h2cListener gives each connection of an h2c listener the first-line check.
type h2cListener struct{ net.Listener }

func (l h2cListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &h2cFirstLine{Conn: c}, nil
}

// h2cFirstLine closes, without an answer, a connection to an h2c listener
// whose first line is neither an HTTP/1.x request line nor the HTTP/2
// preface: its last word does not begin "HTTP/". Such a client speaks no
// protocol the listener offers, and the one it most likely meant is
// HTTP/2, whose invalid preface "MUST" be a connection error (RFC 9113
// §3.4) — an HTTP/1.1 400 would be bytes it cannot parse. RFC 9112 §3
// says a server SHOULD answer an invalid request line with 400; listeners
// without h2c still do. The check looks at each byte of the first line
// as it passes (net/http reads it in small pieces) and keeps only the
// first five bytes of the current word.
type h2cFirstLine struct {
	net.Conn
	done bool
	word [5]byte
	n    int // length of the current word
}

func (c *h2cFirstLine) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if c.done {
		return n, err
	}
	for _, b := range p[:n] {
		switch b {
		case ' ':
			c.n = 0
		case '\r':
		case '\n':
			c.done = true
			if c.n < len(c.word) || string(c.word[:]) != "HTTP/" {
				c.Conn.Close()
				return 0, errNotHTTP
			}
			return n, err
		default:
			if c.n < len(c.word) {
				c.word[c.n] = b
			}
			c.n++
		}
	}
	return n, err
}

// errNotHTTP reads as a failed read to net/http, which closes quietly.
var errNotHTTP = &net.OpError{Op: "read", Net: "tcp", Err: errors.New("first line is neither HTTP/1.x nor the HTTP/2 preface")}

// CloseWrite keeps net/http's graceful close (half-close, then drain).
func (c *h2cFirstLine) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

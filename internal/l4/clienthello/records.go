package clienthello

import (
	"errors"
	"fmt"
	"io"
)

// TLS record layer constants (RFC 8446 §5.1, §4).
const (
	recordTypeHandshake   = 22 // ContentType handshake
	recordHeaderLen       = 5  // type, legacy_record_version, length
	maxPlaintext          = 1 << 14
	handshakeHeaderLen    = 4 // msg_type, uint24 length
	typeClientHello       = 1
	firstReadSize         = 2048 // one typical hello in one Read
	maxRecordVersionValid = 0x1000
	maxEmptyReads         = 100 // as bufio: a Reader returning 0, nil for ever is broken
)

// recordReader reassembles the first handshake message from TLS records
// (RFC 8446 §5.1: a handshake message may span records, and records of
// other types must not be interleaved), keeping every byte it read in buf.
type recordReader struct {
	r   io.Reader
	buf []byte // every byte read from r
	off int    // start of the next unparsed record in buf
	hs  []byte // handshake payload reassembled so far
}

// first performs one Read, enough to tell TLS from anything else.
func (rr *recordReader) first() error {
	rr.buf = make([]byte, 0, firstReadSize)
	for range maxEmptyReads {
		n, err := rr.r.Read(rr.buf[:cap(rr.buf)])
		rr.buf = rr.buf[:n]
		if n > 0 {
			return nil
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				return io.ErrUnexpectedEOF
			}
			return err
		}
	}
	return io.ErrNoProgress
}

// fill reads until buf holds at least n bytes, never past MaxHelloBytes.
func (rr *recordReader) fill(n int) error {
	if n > MaxHelloBytes {
		return fmt.Errorf("%w: longer than %d bytes", ErrMalformed, MaxHelloBytes)
	}
	for empty := 0; len(rr.buf) < n; {
		if len(rr.buf) == cap(rr.buf) {
			grown := make([]byte, len(rr.buf), min(MaxHelloBytes, max(2*cap(rr.buf), n)))
			copy(grown, rr.buf)
			rr.buf = grown
		}
		m, err := rr.r.Read(rr.buf[len(rr.buf):cap(rr.buf)])
		rr.buf = rr.buf[:len(rr.buf)+m]
		if m == 0 && err == nil {
			if empty++; empty >= maxEmptyReads {
				return io.ErrNoProgress
			}
		}
		if err != nil && len(rr.buf) < n {
			if errors.Is(err, io.EOF) {
				return io.ErrUnexpectedEOF
			}
			return err
		}
	}
	return nil
}

// record reads the next record, which must be a handshake record, and
// appends its fragment to hs.
func (rr *recordReader) record() error {
	if err := rr.fill(rr.off + recordHeaderLen); err != nil {
		return err
	}
	h := rr.buf[rr.off : rr.off+recordHeaderLen]
	if h[0] != recordTypeHandshake {
		return fmt.Errorf("%w: record type %d inside the ClientHello", ErrMalformed, h[0])
	}
	// legacy_record_version "MUST be ignored for all purposes"; like
	// crypto/tls, refuse only values that cannot be TLS at all.
	if vers := int(h[1])<<8 | int(h[2]); vers >= maxRecordVersionValid {
		return fmt.Errorf("%w: record version %#04x", ErrMalformed, vers)
	}
	n := int(h[3])<<8 | int(h[4])
	if n > maxPlaintext {
		return fmt.Errorf("%w: record of %d bytes exceeds 2^14", ErrMalformed, n)
	}
	end := rr.off + recordHeaderLen + n
	if err := rr.fill(end); err != nil {
		return err
	}
	rr.hs = append(rr.hs, rr.buf[rr.off+recordHeaderLen:end]...)
	rr.off = end
	return nil
}

// handshakeMessage returns the first handshake message, header included,
// which must be a ClientHello no longer than MaxHelloBytes.
func (rr *recordReader) handshakeMessage() ([]byte, error) {
	for len(rr.hs) < handshakeHeaderLen {
		if err := rr.record(); err != nil {
			return nil, err
		}
	}
	if rr.hs[0] != typeClientHello {
		return nil, fmt.Errorf("%w: handshake type %d, not client_hello", ErrMalformed, rr.hs[0])
	}
	n := handshakeHeaderLen + (int(rr.hs[1])<<16 | int(rr.hs[2])<<8 | int(rr.hs[3]))
	if n > MaxHelloBytes {
		return nil, fmt.Errorf("%w: ClientHello of %d bytes exceeds %d", ErrMalformed, n, MaxHelloBytes)
	}
	for len(rr.hs) < n {
		if err := rr.record(); err != nil {
			return nil, err
		}
	}
	return rr.hs[:n], nil
}

package listener

import "encoding/binary"

// maxSettings is the most entries net/http's HTTP/2 server accepts in one
// SETTINGS frame (it closes the connection above that); larger frames are
// passed on unchanged.
const maxSettings = 100

// dedupSettings rewrites, in place, a SETTINGS payload with repeated
// identifiers so that net/http's server, which refuses repeats, reaches
// the result RFC 9113 §6.5.3 asks for: "the values in the SETTINGS frame
// MUST be processed in the order they appear". Applying values in order
// leaves the last one in force unless one of them is invalid, which is a
// connection error on its own. So per identifier the entry kept is the
// first invalid one, else the last; the others get an identifier not used
// in the frame, and "an endpoint that receives a SETTINGS frame with any
// unknown or unsupported identifier MUST ignore that setting" (§6.5.2).
func dedupSettings(p []byte) {
	n := len(p) / 6
	if n < 2 || n > maxSettings {
		return
	}
	id := func(i int) uint16 { return binary.BigEndian.Uint16(p[6*i:]) }
	val := func(i int) uint32 { return binary.BigEndian.Uint32(p[6*i+2:]) }
	spare := uint16(0xffff)
	for i := 0; i < n; i++ {
		keep := -1 // the entry deciding identifier id(i), if i is its first
		for j := 0; j < n; j++ {
			if id(j) != id(i) {
				continue
			}
			if j < i {
				break // not the first occurrence: handled already
			}
			if !validSetting(id(j), val(j)) {
				keep = j
				break
			}
			keep = j
		}
		if keep < 0 {
			continue
		}
		for j := i; j < n; j++ {
			if j == keep || id(j) != id(i) {
				continue
			}
			for used(p, n, spare) {
				spare--
			}
			binary.BigEndian.PutUint16(p[6*j:], spare)
			spare--
		}
	}
}

func used(p []byte, n int, id uint16) bool {
	for i := 0; i < n; i++ {
		if binary.BigEndian.Uint16(p[6*i:]) == id {
			return true
		}
	}
	return false
}

// validSetting reports whether a value is acceptable for its identifier
// (RFC 9113 §6.5.2; RFC 8441 §3 for ENABLE_CONNECT_PROTOCOL).
func validSetting(id uint16, v uint32) bool {
	switch id {
	case 0x2, 0x8: // ENABLE_PUSH, ENABLE_CONNECT_PROTOCOL
		return v <= 1
	case 0x4: // INITIAL_WINDOW_SIZE
		return v <= 1<<31-1
	case 0x5: // MAX_FRAME_SIZE
		return v >= 1<<14 && v <= 1<<24-1
	}
	return true
}

package flows

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Header is a decoded ofp_header (OpenFlow 1.3.5 §7.1).
type Header struct {
	Version uint8
	Type    MsgType
	// Length is the whole message length in bytes, header included.
	Length uint16
	XID    uint32
}

// ErrShortLength is returned by Reader.Next for a header whose length
// field is smaller than the header itself.
var ErrShortLength = errors.New("message length shorter than the 8-byte header")

// Reader frames OpenFlow messages from a byte stream.
type Reader struct {
	br  *bufio.Reader
	hdr [HeaderLen]byte
}

// NewReader returns a Reader over r with a 64 KiB buffer.
func NewReader(r io.Reader) *Reader {
	return NewReaderSize(r, 64<<10)
}

// NewReaderSize returns a Reader over r with a buffer of size bytes (at
// least 16); messages larger than the buffer are still read whole.
func NewReaderSize(r io.Reader, size int) *Reader {
	return &Reader{br: bufio.NewReaderSize(r, size)}
}

// Next reads one message and returns its header and a freshly allocated
// body (everything after the header). It returns io.EOF at a clean end of
// stream, io.ErrUnexpectedEOF for a truncated message, and ErrShortLength
// for a length field below 8.
func (r *Reader) Next() (Header, []byte, error) {
	if _, err := io.ReadFull(r.br, r.hdr[:]); err != nil {
		return Header{}, nil, err
	}
	h := ParseHeader(r.hdr[:])
	if h.Length < HeaderLen {
		return h, nil, fmt.Errorf("%s xid %d: %w (length %d)", h.Type, h.XID, ErrShortLength, h.Length)
	}
	body := make([]byte, int(h.Length)-HeaderLen)
	if _, err := io.ReadFull(r.br, body); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return h, nil, fmt.Errorf("%s body of %d bytes: %w", h.Type, len(body), err)
	}
	return h, body, nil
}

// Buffered reports how many bytes are already read from the stream but
// not yet returned, so a caller can batch work while more is pending.
func (r *Reader) Buffered() int { return r.br.Buffered() }

// ParseHeader decodes the 8-byte ofp_header at the start of b; b must
// hold at least HeaderLen bytes.
func ParseHeader(b []byte) Header {
	return Header{
		Version: b[0],
		Type:    MsgType(b[1]),
		Length:  binary.BigEndian.Uint16(b[2:]),
		XID:     binary.BigEndian.Uint32(b[4:]),
	}
}

// NegotiateHello applies OpenFlow 1.3.5 §6.3.1 to a switch's HELLO: with
// a version bitmap element, OpenFlow 1.3 is agreed if its bit is set;
// without one, if the switch's header version is at least 0x04. It
// returns an error naming what the switch offered when there is no
// common version, or what was malformed in the elements.
func NegotiateHello(h Header, body []byte) error {
	for p := body; len(p) > 0; {
		if len(p) < 4 {
			return fmt.Errorf("hello: truncated element header (%d bytes)", len(p))
		}
		typ, n := binary.BigEndian.Uint16(p), int(binary.BigEndian.Uint16(p[2:]))
		if n < 4 || n > len(p) {
			return fmt.Errorf("hello: element type %d length %d does not fit in %d bytes", typ, n, len(p))
		}
		if typ == 1 { // OFPHET_VERSIONBITMAP
			if n < 8 {
				return fmt.Errorf("hello: version bitmap element of %d bytes, need 8", n)
			}
			bitmap := binary.BigEndian.Uint32(p[4:])
			if bitmap&(1<<Version) == 0 {
				return fmt.Errorf("hello: switch offers versions bitmap %#x, without OpenFlow 1.3 (0x04)", bitmap)
			}
			return nil
		}
		p = p[min((n+7)/8*8, len(p)):] // elements are padded to 8 bytes
	}
	if h.Version < Version {
		return fmt.Errorf("hello: switch speaks OpenFlow wire version %#02x, older than 1.3 (0x04)", h.Version)
	}
	return nil
}

// msgTypeName names an OpenFlow message type for errors and logs.
func msgTypeName(t MsgType) string { return t.String() }

package flows

import (
	"encoding/binary"
	"fmt"

	"github.com/netrack/openflow/ofp"
)

// MultipartGroupDesc is OFPMP_GROUP_DESC (OpenFlow 1.3.5 §7.3.5.11).
const MultipartGroupDesc = uint16(ofp.MultipartTypeGroupDescription)

// GroupDescRequest is OFPMP_GROUP_DESC: describe every group of the
// switch, with its buckets' actions.
type GroupDescRequest struct{}

// MsgType implements Message.
func (GroupDescRequest) MsgType() MsgType { return MsgMultipartRequest }

// appendBody appends ofp_multipart_request: type 7, flags 0, 4 pad; the
// request has no body.
func (GroupDescRequest) appendBody(b []byte) []byte {
	b = binary.BigEndian.AppendUint16(b, MultipartGroupDesc)
	return append(b, 0, 0, 0, 0, 0, 0)
}

// GroupDesc is one entry of an OFPMP_GROUP_DESC reply (ofp_group_desc,
// OpenFlow 1.3.5 §7.3.5.11).
type GroupDesc struct {
	// ID is the group number.
	ID GroupID
	// Type is ofp_group_type: 0 all, 1 select, 2 indirect, 3 fast
	// failover.
	Type uint8
	// Buckets hold each bucket's raw action list (DecodeActions reads
	// it). They alias the reply body.
	Buckets [][]byte
}

const (
	groupDescFixedLen = 8  // length, type, pad, group_id
	bucketFixedLen    = 16 // len, weight, watch_port, watch_group, pad
)

// DecodeGroupDesc decodes an OFPMP_GROUP_DESC reply body: a list of
// ofp_group_desc, each a length (2), type (1), pad (1), group_id (4) and
// ofp_bucket entries (len (2), weight (2), watch_port (4), watch_group
// (4), pad (4), actions). Every length is checked; the error names the
// entry and bucket.
func DecodeGroupDesc(body []byte) ([]GroupDesc, error) {
	var out []GroupDesc
	for p := body; len(p) > 0; {
		if len(p) < groupDescFixedLen {
			return nil, fmt.Errorf("group-desc entry %d: %d bytes left, need %d", len(out), len(p), groupDescFixedLen)
		}
		n := int(binary.BigEndian.Uint16(p))
		if n < groupDescFixedLen || n > len(p) {
			return nil, fmt.Errorf("group-desc entry %d: length %d does not fit in %d bytes", len(out), n, len(p))
		}
		g := GroupDesc{Type: p[2], ID: GroupID(binary.BigEndian.Uint32(p[4:]))}
		for b := p[groupDescFixedLen:n]; len(b) > 0; {
			if len(b) < bucketFixedLen {
				return nil, fmt.Errorf("group %d bucket %d: %d bytes left, need %d", g.ID, len(g.Buckets), len(b), bucketFixedLen)
			}
			m := int(binary.BigEndian.Uint16(b))
			if m < bucketFixedLen || m > len(b) {
				return nil, fmt.Errorf("group %d bucket %d: length %d does not fit in %d bytes", g.ID, len(g.Buckets), m, len(b))
			}
			g.Buckets = append(g.Buckets, b[bucketFixedLen:m])
			b = b[m:]
		}
		out = append(out, g)
		p = p[n:]
	}
	return out, nil
}

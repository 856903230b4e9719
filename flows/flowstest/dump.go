package flowstest

import "strings"

// statsFields are the fields of an `ovs-ofctl dump-flows` line that
// change while a flow lives; NormalizeDump drops them.
var statsFields = map[string]bool{
	"duration":  true,
	"n_packets": true,
	"n_bytes":   true,
	"idle_age":  true,
	"hard_age":  true,
}

// NormalizeDump turns one flow line printed by
// `ovs-ofctl -O OpenFlow13 dump-flows` into the text flows.Flow.String
// renders, so tests against a real switch can compare the two. It trims
// surrounding white space and removes the statistics fields duration,
// n_packets, n_bytes, idle_age and hard_age from the comma-separated
// prefix before the match and actions:
//
//	cookie=0x5, duration=0.126s, table=0, n_packets=0, n_bytes=0, idle_timeout=300, send_flow_rem priority=200,in_port=1 actions=goto_table:1
//
// becomes
//
//	cookie=0x5, table=0, idle_timeout=300, send_flow_rem priority=200,in_port=1 actions=goto_table:1
//
// Other lines (such as the "OFPST_FLOW reply" header) come back trimmed
// but otherwise unchanged.
func NormalizeDump(line string) string {
	line = strings.TrimSpace(line)
	parts := strings.Split(line, ", ")
	kept := parts[:0]
	prefix := true
	for _, p := range parts {
		// The prefix ends at the first part holding a space: the flags
		// or the match, followed by the actions.
		if strings.ContainsRune(p, ' ') {
			prefix = false
		}
		if prefix {
			if k, _, ok := strings.Cut(p, "="); ok && statsFields[k] {
				continue
			}
		}
		kept = append(kept, p)
	}
	return strings.Join(kept, ", ")
}

package flowstest

import "testing"

func TestNormalizeDump(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{
			name: "openflow13",
			in:   " cookie=0x1a02000000000005, duration=0.126s, table=0, n_packets=0, n_bytes=0, idle_timeout=300, send_flow_rem priority=200,in_port=1,dl_src=02:00:00:00:01:01 actions=goto_table:1\n",
			want: "cookie=0x1a02000000000005, table=0, idle_timeout=300, send_flow_rem priority=200,in_port=1,dl_src=02:00:00:00:01:01 actions=goto_table:1",
		},
		{
			name: "openflow10-ages",
			in:   " cookie=0x0, duration=12.5s, table=1, n_packets=7, n_bytes=588, idle_timeout=60, idle_age=2, hard_age=9, priority=100,dl_dst=02:00:00:00:01:02 actions=output:2",
			want: "cookie=0x0, table=1, idle_timeout=60, priority=100,dl_dst=02:00:00:00:01:02 actions=output:2",
		},
		{
			name: "empty-match-default-priority",
			in:   " cookie=0x0, duration=1s, table=0, n_packets=3, n_bytes=300, actions=drop",
			want: "cookie=0x0, table=0, actions=drop",
		},
		{
			name: "stats-names-after-the-prefix-are-kept",
			in:   "cookie=0x0, duration=1s, table=0, priority=1 actions=note:n_bytes=1, duration=2",
			want: "cookie=0x0, table=0, priority=1 actions=note:n_bytes=1, duration=2",
		},
		{name: "header", in: "OFPST_FLOW reply (OF1.3) (xid=0x2):", want: "OFPST_FLOW reply (OF1.3) (xid=0x2):"},
		{name: "empty", in: "  \n", want: ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := NormalizeDump(tc.in); got != tc.want {
				t.Errorf("NormalizeDump(%q)\n got %q\nwant %q", tc.in, got, tc.want)
			}
		})
	}
}

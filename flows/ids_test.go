package flows

import "testing"

func TestParseDPID(t *testing.T) {
	tests := []struct {
		in      string
		want    DPID
		wantErr bool
	}{
		{"0a55000000000001", 0x0a55000000000001, false},
		{"1", 1, false},
		{"0xABCdef", 0xabcdef, false},
		{"ffffffffffffffff", 0xffffffffffffffff, false},
		{"", 0, true},
		{"0x", 0, true},
		{"12zz", 0, true}, // Sscanf("%x") read this as 0x12
		{"zz", 0, true},
		{"-1", 0, true},
		{"+1", 0, true},
		{" 1", 0, true},
		{"10000000000000000", 0, true}, // 17 digits
	}
	for _, tt := range tests {
		got, err := ParseDPID(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseDPID(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
	if s := DPID(0xa55).String(); s != "0000000000000a55" {
		t.Errorf("String() = %q", s)
	}
}

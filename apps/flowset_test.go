package apps

import (
	"slices"
	"testing"

	"github.com/ovsmesh/ovsmesh/flows"
)

func TestFlowSetSync(t *testing.T) {
	a := flows.Flow{Table: 20, Priority: 100, Cookie: 1, Match: flows.Match{EthType: flows.EthTypeIPv4}}
	b := flows.Flow{Table: 20, Priority: 200, Cookie: 1, Match: flows.Match{EthType: flows.EthTypeARP}}
	b2 := b
	b2.Actions = []flows.Action{flows.ToController}
	c := flows.Flow{Table: 21, Priority: 5, Cookie: 1}
	s := FlowSet{}
	render := func(msgs []flows.Message) []string {
		var out []string
		for _, m := range msgs {
			switch m := m.(type) {
			case flows.FlowMod:
				out = append(out, m.String())
			}
		}
		return out
	}
	steps := []struct {
		name string
		want []flows.Flow
		msgs []string
	}{
		{"install", []flows.Flow{b, a}, []string{flows.AddFlow(a).String(), flows.AddFlow(b).String()}},
		{"same again: nothing", []flows.Flow{a, b}, nil},
		{"one changed, one gone, one new", []flows.Flow{b2, c},
			[]string{flows.DeleteStrict(a).String(), flows.AddFlow(b2).String(), flows.AddFlow(c).String()}},
		{"all gone", nil, []string{flows.DeleteStrict(b2).String(), flows.DeleteStrict(c).String()}},
	}
	for _, st := range steps {
		if got := render(s.Sync(st.want)); !slices.Equal(got, st.msgs) {
			t.Errorf("%s:\n got %q\nwant %q", st.name, got, st.msgs)
		}
		if len(s) != len(st.want) {
			t.Errorf("%s: set holds %d flows, want %d", st.name, len(s), len(st.want))
		}
	}
}

package learning

import (
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/ovsmesh/ovsmesh/api"
	"github.com/ovsmesh/ovsmesh/apps"
	"github.com/ovsmesh/ovsmesh/cli"
	"github.com/ovsmesh/ovsmesh/flows"
	"github.com/ovsmesh/ovsmesh/topo"
)

// openTables opens the MAC table in the controller's state ("macs") and,
// to read, the ARP table ("arp"); without state, a private MAC table and
// no ARP table.
func openTables(env apps.Env) (*topo.MACTable, IPs, error) {
	if env.State == nil {
		return topo.NewMACTable(), nil, nil
	}
	macs, err := topo.OpenMACTable(env.State)
	if err != nil {
		return nil, nil, err
	}
	arp, err := topo.OpenARPTable(env.State)
	if err != nil {
		return nil, nil, err
	}
	return macs, arp, nil
}

// MAC is one row of GET /api/v1/macs.
type MAC struct {
	MAC string `json:"mac"`
	// Host is the configured host, "" for a standalone switch.
	Host string `json:"host"`
	DPID string `json:"dpid"`
	// OFPort is the local port the MAC sits behind.
	OFPort  flows.OFPort `json:"ofport"`
	Learned time.Time    `json:"learned"`
	// Moves counts moves since the MAC was first learned.
	Moves uint64 `json:"moves"`
}

// Routes implements apps.RouteProvider: GET /api/v1/macs lists the
// mesh-wide MAC table, ordered by domain then MAC.
func (a *App) Routes() []api.Route {
	return []api.Route{{Method: "GET", Path: "/api/v1/macs", Handler: func(w http.ResponseWriter, _ *http.Request) {
		out := []MAC{}
		for _, e := range a.table.Select(nil) {
			out = append(out, MAC{MAC: e.MAC.String(), Host: e.Host, DPID: e.DPID.String(), OFPort: e.OFPort, Learned: e.Learned, Moves: e.Moves})
		}
		api.WriteJSON(w, http.StatusOK, out)
	}}}
}

// commands returns `ovsmesh macs`.
func commands() []*cobra.Command {
	return []*cobra.Command{cli.Get{Use: "macs", Short: "Print the mesh-wide MAC table", Path: "/api/v1/macs",
		Host: cli.FilterHost, Print: printMACs}.Command()}
}

func printMACs(w io.Writer, body []byte, host string) error {
	macs, err := cli.Decode[[]MAC](body, "MAC table")
	if err != nil {
		return err
	}
	var rows [][]string
	for _, m := range macs {
		if host != "" && m.Host != host {
			continue
		}
		rows = append(rows, []string{m.MAC, cli.OrDash(m.Host), m.DPID, fmt.Sprint(m.OFPort), fmt.Sprint(m.Moves), cli.Age(m.Learned)})
	}
	return cli.Table(w, "MAC\tHOST\tDPID\tOFPORT\tMOVES\tAGE", rows)
}

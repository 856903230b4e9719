package proxyarp

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

// openTables opens the ARP table ("arp") and, to read, the learning
// app's MAC table ("macs") in the controller's state; without state, a
// private ARP table and no MAC table.
func openTables(env apps.Env) (*topo.ARPTable, MACs, error) {
	if env.State == nil {
		return topo.NewARPTable(), nil, nil
	}
	arp, err := topo.OpenARPTable(env.State)
	if err != nil {
		return nil, nil, err
	}
	macs, err := topo.OpenMACTable(env.State)
	if err != nil {
		return nil, nil, err
	}
	return arp, macs, nil
}

// ARP is one row of GET /api/v1/arp.
type ARP struct {
	IP  string `json:"ip"`
	MAC string `json:"mac"`
	// Host is where the binding was last seen, "" for a standalone
	// switch or a static binding not seen yet.
	Host    string       `json:"host"`
	DPID    string       `json:"dpid"`
	OFPort  flows.OFPort `json:"ofport"`
	Static  bool         `json:"static"`
	Learned time.Time    `json:"learned"`
	Seen    time.Time    `json:"seen"`
}

// Routes implements apps.RouteProvider: GET /api/v1/arp lists the
// mesh-wide ARP table, ordered by IP.
func (a *App) Routes() []api.Route {
	return []api.Route{{Method: "GET", Path: "/api/v1/arp", Handler: func(w http.ResponseWriter, _ *http.Request) {
		out := []ARP{}
		for _, b := range a.table.Select(nil) {
			out = append(out, ARP{IP: b.IP.String(), MAC: b.MAC.String(), Host: b.Host, DPID: b.DPID.String(),
				OFPort: b.OFPort, Static: b.Static, Learned: b.Learned, Seen: b.Seen})
		}
		api.WriteJSON(w, http.StatusOK, out)
	}}}
}

// commands returns `ovsmesh arp`.
func commands() []*cobra.Command {
	return []*cobra.Command{cli.Get{Use: "arp", Short: "Print the mesh-wide ARP bindings", Path: "/api/v1/arp",
		Host: cli.FilterHost, Print: printARP}.Command()}
}

func printARP(w io.Writer, body []byte, host string) error {
	arps, err := cli.Decode[[]ARP](body, "ARP table")
	if err != nil {
		return err
	}
	var rows [][]string
	for _, a := range arps {
		if host != "" && a.Host != host {
			continue
		}
		kind := "learned"
		if a.Static {
			kind = "static"
		}
		rows = append(rows, []string{a.IP, a.MAC, cli.OrDash(a.Host), fmt.Sprint(a.OFPort), kind, cli.Age(a.Seen)})
	}
	return cli.Table(w, "IP\tMAC\tHOST\tOFPORT\tKIND\tSEEN", rows)
}

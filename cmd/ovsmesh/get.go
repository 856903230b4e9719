package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/ovsmesh/ovsmesh/api"
)

// getFlags are the flags every `ovsmesh hosts|macs|arp|flows` takes.
type getFlags struct {
	api    string
	output string
	host   string
}

// newGetCmds returns the read-only commands that print what the
// controller's API shows, as aligned tables like `kubectl get`, or as
// the API's JSON with -o json.
func newGetCmds() []*cobra.Command {
	type spec struct {
		use, short string
		path       string
		host       bool // --host accepted (required for flows)
		print      func(w io.Writer, body []byte, f getFlags) error
	}
	specs := []spec{
		{"hosts", "Print the configured hosts: DPID, OVSDB and OpenFlow state, tunnel ports", "/api/v1/hosts", false, printHosts},
		{"macs", "Print the mesh-wide MAC table", "/api/v1/macs", true, printMACs},
		{"arp", "Print the mesh-wide ARP bindings", "/api/v1/arp", true, printARP},
		{"flows", "Print a host's flows, fetched live from its switch, with decoded cookies", "/api/v1/flows", true, printFlows},
	}
	var cmds []*cobra.Command
	for _, s := range specs {
		var f getFlags
		cmd := &cobra.Command{
			Use:   s.use,
			Short: s.short,
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				if f.output != "table" && f.output != "json" {
					return fmt.Errorf("-o %q: want table or json", f.output)
				}
				q := url.Values{}
				if s.use == "flows" {
					if f.host == "" {
						return errors.New("flows needs --host NAME")
					}
					q.Set("host", f.host)
				}
				body, err := apiGet(f.api, s.path, q)
				if err != nil {
					return err
				}
				if f.output == "json" {
					_, err := cmd.OutOrStdout().Write(body)
					return err
				}
				return s.print(cmd.OutOrStdout(), body, f)
			},
		}
		cmd.Flags().StringVar(&f.api, "api", "127.0.0.1:9633", "controller API address host:port")
		cmd.Flags().StringVarP(&f.output, "output", "o", "table", "table or json")
		if s.host {
			help := "only rows of this host"
			if s.use == "flows" {
				help = "the host whose flows to print (required)"
			}
			cmd.Flags().StringVar(&f.host, "host", "", help)
		}
		cmds = append(cmds, cmd)
	}
	return cmds
}

// apiGet fetches path from the API at addr and returns the body of a 200
// answer; other answers become an error carrying the API's message.
func apiGet(addr, path string, q url.Values) ([]byte, error) {
	u := url.URL{Scheme: "http", Host: addr, Path: path, RawQuery: q.Encode()}
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Get(u.String())
	if err != nil {
		return nil, fmt.Errorf("controller API at %s is not reachable (is `ovsmesh controller` running? --api sets the address): %w", addr, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("read %s from %s: %w", path, addr, err)
	}
	if resp.StatusCode != http.StatusOK {
		var e api.Error
		if json.Unmarshal(body, &e) == nil && e.Error != "" {
			return nil, fmt.Errorf("controller API at %s: %s (%s)", addr, e.Error, resp.Status)
		}
		return nil, fmt.Errorf("controller API at %s answered %s for %s", addr, resp.Status, path)
	}
	return body, nil
}

func decode[T any](body []byte, what string) (T, error) {
	var v T
	if err := json.Unmarshal(body, &v); err != nil {
		return v, fmt.Errorf("decode %s: %w", what, err)
	}
	return v, nil
}

// table writes rows under header, columns aligned.
func table(w io.Writer, header string, rows [][]string) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, header)
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

// age renders how long ago t was, "-" for the zero time.
func age(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return time.Since(t).Round(time.Second).String()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func printHosts(w io.Writer, body []byte, _ getFlags) error {
	hosts, err := decode[[]api.Host](body, "hosts")
	if err != nil {
		return err
	}
	var rows [][]string
	for _, h := range hosts {
		ovsdb, of := "down", "down"
		if h.OVSDBConnected {
			ovsdb = "up"
		}
		if h.OpenFlowUp {
			of = "up"
		}
		peers := make([]string, 0, len(h.Tunnels))
		for p := range h.Tunnels {
			peers = append(peers, p)
		}
		sort.Strings(peers)
		var tun []string
		for _, p := range peers {
			tun = append(tun, fmt.Sprintf("%s:%d", p, h.Tunnels[p]))
		}
		rows = append(rows, []string{h.Name, h.DPID, h.TunnelIP, ovsdb, of, orDash(strings.Join(tun, ",")), orDash(h.OVSDBError)})
	}
	return table(w, "NAME\tDPID\tTUNNEL-IP\tOVSDB\tOPENFLOW\tTUNNELS\tERROR", rows)
}

func printMACs(w io.Writer, body []byte, f getFlags) error {
	macs, err := decode[[]api.MAC](body, "MAC table")
	if err != nil {
		return err
	}
	var rows [][]string
	for _, m := range macs {
		if f.host != "" && m.Host != f.host {
			continue
		}
		rows = append(rows, []string{m.MAC, orDash(m.Host), m.DPID, fmt.Sprint(m.OFPort), fmt.Sprint(m.Moves), age(m.Learned)})
	}
	return table(w, "MAC\tHOST\tDPID\tOFPORT\tMOVES\tAGE", rows)
}

func printARP(w io.Writer, body []byte, f getFlags) error {
	arps, err := decode[[]api.ARP](body, "ARP table")
	if err != nil {
		return err
	}
	var rows [][]string
	for _, a := range arps {
		if f.host != "" && a.Host != f.host {
			continue
		}
		kind := "learned"
		if a.Static {
			kind = "static"
		}
		rows = append(rows, []string{a.IP, a.MAC, orDash(a.Host), fmt.Sprint(a.OFPort), kind, age(a.Seen)})
	}
	return table(w, "IP\tMAC\tHOST\tOFPORT\tKIND\tSEEN", rows)
}

func printFlows(w io.Writer, body []byte, _ getFlags) error {
	fl, err := decode[api.Flows](body, "flows")
	if err != nil {
		return err
	}
	var rows [][]string
	for _, f := range fl.Flows {
		app, gen := orDash(f.App), "-"
		if f.App != "" {
			gen = fmt.Sprint(f.Generation)
			if f.Stale {
				gen += " (stale)"
			}
		}
		rows = append(rows, []string{fmt.Sprint(f.Table), fmt.Sprint(f.Priority), app, gen, fmt.Sprint(f.Packets),
			orDash(f.Match), f.Actions})
	}
	fmt.Fprintf(w, "host %s, dpid %s, running generation %d, %d flows\n", orDash(fl.Host), fl.DPID, fl.Generation, len(fl.Flows))
	return table(w, "TABLE\tPRIORITY\tAPP\tGENERATION\tPACKETS\tMATCH\tACTIONS", rows)
}

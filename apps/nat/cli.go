package nat

import (
	"fmt"
	"io"
	"net/url"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/ovsmesh/ovsmesh/cli"
)

// commands returns `ovsmesh nat` with its forward and redirect
// subcommands.
func commands() []*cobra.Command {
	nat := cli.Get{Use: "nat", Short: "Print the NAT gateway's settings, next hop, forwards and redirects with their counters",
		Path: "/api/v1/nat", Print: printStatus}.Command()
	var api, tokenFile string
	send := func(cmd *cobra.Command, method, path string, q url.Values, body any) error {
		out, err := cli.Send(api, method, path, q, body, tokenFile)
		if err != nil {
			return err
		}
		_, err = cmd.OutOrStdout().Write(out)
		return err
	}
	port := func(s string) (int, error) {
		n, err := strconv.Atoi(s)
		if err != nil {
			return 0, fmt.Errorf("port %q is not a number", s)
		}
		return n, nil
	}
	forward := &cobra.Command{Use: "forward", Short: "Add or delete port forwards (external IP:port to a guest)"}
	forward.AddCommand(
		&cobra.Command{Use: "add PROTO PORT IP:PORT", Short: "Forward new connections to the external IP's PORT to the guest's IP:PORT",
			Args: cobra.ExactArgs(3), RunE: func(cmd *cobra.Command, args []string) error {
				p, err := port(args[1])
				if err != nil {
					return err
				}
				return send(cmd, "POST", "/api/v1/nat/forwards", nil, Forward{Proto: args[0], Port: p, To: args[2]})
			}},
		&cobra.Command{Use: "del PROTO PORT [IP:PORT]", Short: "Delete the forward of PROTO and PORT",
			Args: cobra.RangeArgs(2, 3), RunE: func(cmd *cobra.Command, args []string) error {
				if _, err := port(args[1]); err != nil {
					return err
				}
				return send(cmd, "DELETE", "/api/v1/nat/forwards", url.Values{"proto": {args[0]}, "port": {args[1]}}, nil)
			}},
	)
	redirect := &cobra.Command{Use: "redirect", Short: "Add or delete in-overlay port redirects (IP:PORT served by IP:TO_PORT)"}
	redirect.AddCommand(
		&cobra.Command{Use: "add PROTO IP PORT TO_PORT", Short: "Serve connections to IP:PORT by IP:TO_PORT, for every client in the overlay",
			Args: cobra.ExactArgs(4), RunE: func(cmd *cobra.Command, args []string) error {
				p, err := port(args[2])
				if err != nil {
					return err
				}
				to, err := port(args[3])
				if err != nil {
					return err
				}
				d := Redirect{Proto: args[0], Port: p, ToPort: to}
				if err := d.IP.UnmarshalText([]byte(args[1])); err != nil {
					return fmt.Errorf("IP %q is not an IPv4 address", args[1])
				}
				return send(cmd, "POST", "/api/v1/nat/redirects", nil, d)
			}},
		&cobra.Command{Use: "del PROTO IP PORT [TO_PORT]", Short: "Delete the redirect of PROTO, IP and PORT",
			Args: cobra.RangeArgs(3, 4), RunE: func(cmd *cobra.Command, args []string) error {
				if _, err := port(args[2]); err != nil {
					return err
				}
				return send(cmd, "DELETE", "/api/v1/nat/redirects", url.Values{"proto": {args[0]}, "ip": {args[1]}, "port": {args[2]}}, nil)
			}},
	)
	for _, c := range []*cobra.Command{forward, redirect} {
		c.PersistentFlags().StringVar(&api, "api", cli.DefaultAPI, "controller API address host:port")
		c.PersistentFlags().StringVar(&tokenFile, "token-file", "", "file holding the API bearer token (api.token_file; not needed over loopback)")
		nat.AddCommand(c)
	}
	return []*cobra.Command{nat}
}

// printStatus renders GET /api/v1/nat as tables.
func printStatus(w io.Writer, body []byte, _ string) error {
	s, err := cli.Decode[Status](body, "NAT status")
	if err != nil {
		return err
	}
	ext := "up"
	if !s.External.Up {
		ext = "DOWN: " + s.External.Problem
	}
	resolved := "never"
	if !s.NextHop.Resolved.IsZero() {
		resolved = cli.Age(s.NextHop.Resolved)
	}
	fmt.Fprintf(w, "gateway   %s (connected: %v)\nexternal  %s on %s, %s (ofport %d, mac %s)\nnext hop  %s at %s: %s, last answer %s, %d requests sent\n",
		s.Gateway, s.GatewayConnected, s.External.IP, s.External.Port, ext, s.External.OFPort, cli.OrDash(s.External.MAC),
		s.NextHop.IP, cli.OrDash(s.NextHop.MAC), s.NextHop.State, resolved, s.NextHop.Requests)
	fmt.Fprintf(w, "router    %s at %s, inside %v, conntrack zones %d (snat) %d (dnat) %d (redirects)\n\n",
		s.RouterIP, s.RouterMAC, s.Inside, s.Zones[0], s.Zones[1], s.Zones[2])
	var rows [][]string
	for _, name := range []string{"masquerade_out", "unforwarded_dropped", "outside_dropped", "invalid_dropped"} {
		c := s.Paths[name]
		rows = append(rows, []string{name, fmt.Sprint(c.Packets), fmt.Sprint(c.Bytes)})
	}
	if err := cli.Table(w, "PATH\tPACKETS\tBYTES", rows); err != nil {
		return err
	}
	fmt.Fprintln(w)
	rows = nil
	for _, f := range s.Forwards {
		rows = append(rows, []string{f.Proto, fmt.Sprint(f.Port), f.To, f.Source, fmt.Sprint(f.Packets), fmt.Sprint(f.Bytes)})
	}
	if err := cli.Table(w, "FORWARD\tPORT\tTO\tSOURCE\tPACKETS\tBYTES", rows); err != nil {
		return err
	}
	fmt.Fprintln(w)
	rows = nil
	for _, r := range s.Redirects {
		rows = append(rows, []string{r.Proto, r.IP.String(), fmt.Sprint(r.Port), fmt.Sprint(r.ToPort), cli.OrDash(r.Host), r.Source,
			fmt.Sprint(r.Packets), fmt.Sprint(r.Bytes)})
	}
	return cli.Table(w, "REDIRECT\tIP\tPORT\tTO_PORT\tHOST\tSOURCE\tPACKETS\tBYTES", rows)
}

package trace

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/ovsmesh/ovsmesh/api"
	"github.com/ovsmesh/ovsmesh/cli"
	"github.com/ovsmesh/ovsmesh/config"
)

// Path is the trace endpoint.
const Path = "/api/v1/trace"

// maxRequestBytes bounds a request body.
const maxRequestBytes = 4096

// Routes implements apps.RouteProvider: POST /api/v1/trace takes a
// Request and answers a Result. Like every mutating route it needs
// loopback or the bearer token (api.token_file). Errors: 400 for a
// request that cannot be traced (a bad field, SRC or DST unknown), 409
// while another probe runs.
func (a *App) Routes() []api.Route {
	return []api.Route{{Method: http.MethodPost, Path: Path, Handler: func(w http.ResponseWriter, r *http.Request) {
		var req Request
		dec := json.NewDecoder(io.LimitReader(r.Body, maxRequestBytes))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			api.WriteError(w, http.StatusBadRequest, fmt.Errorf("trace request: want JSON {src, dst, proto, port, dst_mac, explain}: %w", err))
			return
		}
		res, err := a.Trace(r.Context(), req)
		switch {
		case errors.Is(err, ErrRequest) || errors.Is(err, ErrResolve):
			api.WriteError(w, http.StatusBadRequest, err)
		case errors.Is(err, ErrBusy):
			api.WriteError(w, http.StatusConflict, err)
		case err != nil:
			api.WriteError(w, http.StatusInternalServerError, err)
		default:
			api.WriteJSON(w, http.StatusOK, res)
		}
	}}}
}

// commands returns `ovsmesh trace`.
func commands() []*cobra.Command {
	var (
		req                   Request
		addr, output, tokFile string
	)
	cmd := &cobra.Command{
		Use:   "trace SRC DST",
		Short: "Follow a packet from SRC to DST across the mesh (a tagged probe, or --explain from the controller's state)",
		Long: `Follow a packet from SRC to DST across the mesh. SRC and DST are guest IPv4
addresses, MACs, or HOST:PORT (a port number or name on a configured host).

By default the controller sends a real, tagged packet from SRC's port and
follows it stage by stage on every host it reaches, without letting it reach
a guest; --explain answers from the controller's own state without touching
a switch. A probe is compared with the explanation: a difference is drift
between the controller and a switch, and is reported.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if output != "table" && output != "json" {
				return fmt.Errorf("-o %q: want table or json", output)
			}
			req.Src, req.Dst = args[0], args[1]
			tok := ""
			if tokFile != "" {
				var err error
				if tok, err = config.ReadToken(tokFile); err != nil {
					return err
				}
			}
			body, err := cli.APIPost(addr, Path, req, tok, 70*time.Second)
			if err != nil {
				return err
			}
			if output == "json" {
				_, err := cmd.OutOrStdout().Write(body)
				return err
			}
			res, err := cli.Decode[Result](body, "trace")
			if err != nil {
				return err
			}
			return Render(cmd.OutOrStdout(), &res)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&req.Proto, "proto", "icmp", "icmp, tcp, udp or arp")
	fl.Uint16Var(&req.Port, "port", 0, "TCP or UDP destination port (default 80)")
	fl.StringVar(&req.DstMAC, "dst-mac", "", "the probe's Ethernet destination, for a DST outside the mesh: the router's MAC")
	fl.BoolVar(&req.Explain, "explain", false, "answer from the controller's state, without touching a switch")
	fl.StringVar(&addr, "api", cli.DefaultAPI, "controller API address host:port")
	fl.StringVarP(&output, "output", "o", "table", "table or json")
	fl.StringVar(&tokFile, "token-file", "", "file holding the API bearer token (needed off loopback)")
	return []*cobra.Command{cmd}
}

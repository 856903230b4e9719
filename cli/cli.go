package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
)

// DefaultAPI is the API address the commands talk to unless --api says
// otherwise (the controller's default api.listen).
const DefaultAPI = "127.0.0.1:9633"

// HostFlag says how a command takes --host.
type HostFlag uint8

// The ways a command takes --host.
const (
	// NoHost: no --host flag.
	NoHost HostFlag = iota
	// FilterHost: --host keeps only rows whose "host" is that name, in
	// the table and in -o json alike.
	FilterHost
	// RequireHost: --host NAME is required and sent as ?host=NAME.
	RequireHost
)

// Get describes a read-only command that prints one API endpoint.
type Get struct {
	// Use and Short are cobra's.
	Use, Short string
	// Path is the API path, such as "/api/v1/macs".
	Path string
	// Host says how the command takes --host.
	Host HostFlag
	// Print writes the body (the endpoint's JSON) as a table; host is
	// the --host filter ("" for none).
	Print func(w io.Writer, body []byte, host string) error
}

// Command returns the cobra command: --api, -o table|json, and --host as
// g.Host says.
func (g Get) Command() *cobra.Command {
	var api, output, host string
	cmd := &cobra.Command{
		Use:   g.Use,
		Short: g.Short,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if output != "table" && output != "json" {
				return fmt.Errorf("-o %q: want table or json", output)
			}
			q := url.Values{}
			if g.Host == RequireHost {
				if host == "" {
					return fmt.Errorf("%s needs --host NAME", g.Use)
				}
				q.Set("host", host)
			}
			body, err := APIGet(api, g.Path, q)
			if err != nil {
				return err
			}
			if output == "json" {
				if g.Host == FilterHost && host != "" {
					if body, err = FilterJSONByHost(body, host); err != nil {
						return err
					}
				}
				_, err := cmd.OutOrStdout().Write(body)
				return err
			}
			return g.Print(cmd.OutOrStdout(), body, host)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&api, "api", DefaultAPI, "controller API address host:port")
	fl.StringVarP(&output, "output", "o", "table", "table or json")
	switch g.Host {
	case FilterHost:
		fl.StringVar(&host, "host", "", "only rows of this host")
	case RequireHost:
		fl.StringVar(&host, "host", "", "the host to ask about (required)")
	}
	return cmd
}

// Error is the body of an API error answer.
type Error struct {
	Error string `json:"error"`
}

// APIGet fetches path from the API at addr and returns the body of a 200
// answer; any other answer becomes an error carrying the API's message.
func APIGet(addr, path string, q url.Values) ([]byte, error) {
	u := url.URL{Scheme: "http", Host: addr, Path: path, RawQuery: q.Encode()}
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Get(u.String())
	if err != nil {
		return nil, fmt.Errorf("controller API at %s is not reachable (is `ovsmesh controller` running? --api sets the address): %w", addr, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("read %s from %s: %w", path, addr, err)
	}
	if resp.StatusCode != http.StatusOK {
		var e Error
		if json.Unmarshal(body, &e) == nil && e.Error != "" {
			return nil, fmt.Errorf("controller API at %s: %s (%s)", addr, e.Error, resp.Status)
		}
		return nil, fmt.Errorf("controller API at %s answered %s for %s", addr, resp.Status, path)
	}
	return body, nil
}

// Send makes a changing request (POST, DELETE) to the API at addr: body,
// when not nil, is sent as JSON; tokenFile, when set, holds the bearer
// token api.token_file configures (changes over loopback need none). It
// returns the body of a 2xx answer; any other answer becomes an error
// carrying the API's message.
func Send(addr, method, path string, q url.Values, body any, tokenFile string) ([]byte, error) {
	u := url.URL{Scheme: "http", Host: addr, Path: path, RawQuery: q.Encode()}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("encode the request: %w", err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, u.String(), rd)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if tokenFile != "" {
		tok, err := os.ReadFile(tokenFile)
		if err != nil {
			return nil, fmt.Errorf("--token-file: %w", err)
		}
		req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(tok)))
	}
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("controller API at %s is not reachable (is `ovsmesh controller` running? --api sets the address): %w", addr, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("read the answer to %s %s: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		var e Error
		if json.Unmarshal(out, &e) == nil && e.Error != "" {
			return nil, fmt.Errorf("controller API at %s: %s (%s)", addr, e.Error, resp.Status)
		}
		return nil, fmt.Errorf("controller API at %s answered %s for %s %s", addr, resp.Status, method, path)
	}
	return out, nil
}

// FilterJSONByHost keeps the elements of a JSON array of objects whose
// "host" member is host, and returns the array re-encoded, indented as
// the API indents it.
func FilterJSONByHost(body []byte, host string) ([]byte, error) {
	var rows []map[string]json.RawMessage
	if err := json.Unmarshal(body, &rows); err != nil {
		return nil, fmt.Errorf("filter by --host: the answer is not a list of rows: %w", err)
	}
	out := []map[string]json.RawMessage{}
	for _, r := range rows {
		var h string
		if json.Unmarshal(r["host"], &h) == nil && h == host {
			out = append(out, r)
		}
	}
	b, err := json.MarshalIndent(out, "", "  ")
	return append(b, '\n'), err
}

// Decode unmarshals an API body into a T, naming what on error.
func Decode[T any](body []byte, what string) (T, error) {
	var v T
	if err := json.Unmarshal(body, &v); err != nil {
		return v, fmt.Errorf("decode %s: %w", what, err)
	}
	return v, nil
}

// Table writes rows under header (columns separated by tabs), aligned.
func Table(w io.Writer, header string, rows [][]string) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, header)
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

// Age renders how long ago t was, rounded to seconds; "-" for the zero
// time.
func Age(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return time.Since(t).Round(time.Second).String()
}

// OrDash returns s, or "-" when s is empty.
func OrDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

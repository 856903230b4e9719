package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/ovsmesh/ovsmesh/api"
)

func newMACsCmd() *cobra.Command {
	var addr, output string
	cmd := &cobra.Command{
		Use:   "macs",
		Short: "Print the mesh-wide MAC table",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			client := &http.Client{Timeout: 5 * time.Second}
			resp, err := client.Get("http://" + addr + "/api/v1/macs")
			if err != nil {
				return fmt.Errorf("controller API at %s is not reachable: %w", addr, err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("controller API at %s answered %s", addr, resp.Status)
			}
			var rows []api.MAC
			if err := json.NewDecoder(resp.Body).Decode(&rows); err != nil {
				return fmt.Errorf("decode MAC table from %s: %w", addr, err)
			}
			if output == "json" {
				enc := json.NewEncoder(os.Stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(rows)
			}
			tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "MAC\tHOST\tDPID\tOFPORT\tMOVES\tAGE")
			for _, r := range rows {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\n", r.MAC, r.Host, r.DPID, r.OFPort, r.Moves, time.Since(r.Learned).Round(time.Second))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&addr, "api", "127.0.0.1:9633", "controller API address host:port")
	cmd.Flags().StringVarP(&output, "output", "o", "table", "table or json")
	return cmd
}

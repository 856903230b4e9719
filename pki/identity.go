package pki

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/ovsmesh/ovsmesh/flows"
	"github.com/ovsmesh/ovsmesh/topo"
)

// URIScheme is the scheme of the URI subject alternative names
// (RFC 5280 §4.2.1.6) that bind ovsmesh identities to certificates.
const URIScheme = "ovsmesh"

// Where an Identity was read from.
const (
	// SourceURI: the ovsmesh://host/NAME?dpid=DPID URI SAN of a
	// certificate made by IssueHost (`ovsmesh pki issue`).
	SourceURI = "uri"
	// SourceCN: the subject common name, "NAME" or ovs-pki's
	// "NAME id:UUID"; the DPID is derived from the name.
	SourceCN = "cn"
)

// ErrIdentity is wrapped by every error of IdentityOf: the certificate
// names no usable host.
var ErrIdentity = errors.New("no host identity")

// Identity is the mesh host a certificate names.
type Identity struct {
	// Host is the host's name, as in the configuration's hosts[].name.
	Host string
	// DPID is the datapath ID the host's mesh bridge must report in its
	// FEATURES_REPLY: the one bound in the certificate, or for
	// certificates without that binding topo.DPIDFor(Host).
	DPID flows.DPID
	// Source says which field Host came from: SourceURI or SourceCN.
	Source string
}

// HostURI returns the URI SAN that binds host to its DPID:
// ovsmesh://host/NAME?dpid=DPID, DPID as 16 lower-case hex digits
// (flows.DPID.String), for example
// ovsmesh://host/h1?dpid=0a55c1d2e3f4a5b6.
func HostURI(host string, dpid flows.DPID) *url.URL {
	return &url.URL{Scheme: URIScheme, Host: "host", Path: "/" + host, RawQuery: "dpid=" + dpid.String()}
}

// ControllerURI returns the URI SAN of the controller's certificate:
// ovsmesh://controller/NAME.
func ControllerURI(name string) *url.URL {
	return &url.URL{Scheme: URIScheme, Host: "controller", Path: "/" + name}
}

// IdentityOf reads the host identity of a peer certificate, which must
// already be verified (Verify): it only parses.
//
//   - A certificate with an ovsmesh:// URI SAN must carry exactly one,
//     ovsmesh://host/NAME?dpid=DPID, and a common name that is NAME or
//     starts with "NAME "; Identity.DPID is the bound DPID.
//   - Otherwise the host name is the first word of the common name: the
//     whole CN of a plain certificate, "h1" of ovs-pki's
//     "h1 id:29951e9b-…". The DPID is topo.DPIDFor(name), the DPID
//     ovsmesh pins on that host's bridge.
//
// Names follow the configuration's rule: letters, digits, '-' and '_',
// 1 to 63 bytes. Errors wrap ErrIdentity.
func IdentityOf(cert *x509.Certificate) (Identity, error) {
	cnName, _, _ := strings.Cut(strings.TrimSpace(cert.Subject.CommonName), " ")
	var ours []*url.URL
	for _, u := range cert.URIs {
		if u.Scheme == URIScheme {
			ours = append(ours, u)
		}
	}
	switch {
	case len(ours) > 1:
		return Identity{}, fmt.Errorf("%w: certificate %q has %d ovsmesh URIs, want one", ErrIdentity, cert.Subject.CommonName, len(ours))
	case len(ours) == 1:
		id, err := parseHostURI(ours[0])
		if err != nil {
			return Identity{}, fmt.Errorf("%w: certificate %q: %w", ErrIdentity, cert.Subject.CommonName, err)
		}
		if cnName != id.Host {
			return Identity{}, fmt.Errorf("%w: certificate's common name %q does not name host %q of its URI %s",
				ErrIdentity, cert.Subject.CommonName, id.Host, ours[0])
		}
		return id, nil
	}
	if err := checkName(cnName); err != nil {
		return Identity{}, fmt.Errorf("%w: certificate common name %q: %w", ErrIdentity, cert.Subject.CommonName, err)
	}
	return Identity{Host: cnName, DPID: dpidOf(cnName), Source: SourceCN}, nil
}

// parseHostURI parses ovsmesh://host/NAME?dpid=DPID.
func parseHostURI(u *url.URL) (Identity, error) {
	if u.Host != "host" {
		return Identity{}, fmt.Errorf("URI %s does not name a host (ovsmesh://host/NAME?dpid=DPID)", u)
	}
	name := strings.TrimPrefix(u.Path, "/")
	if err := checkName(name); err != nil {
		return Identity{}, fmt.Errorf("URI %s: %w", u, err)
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil || len(q["dpid"]) != 1 || len(q) != 1 {
		return Identity{}, fmt.Errorf("URI %s: want exactly one query parameter dpid", u)
	}
	raw := q.Get("dpid")
	if len(raw) != 16 || strings.Trim(raw, "0123456789abcdef") != "" {
		return Identity{}, fmt.Errorf("URI %s: dpid %q is not 16 lower-case hex digits", u, raw)
	}
	dpid, err := flows.ParseDPID(raw)
	if err != nil {
		return Identity{}, fmt.Errorf("URI %s: %w", u, err)
	}
	return Identity{Host: name, DPID: dpid, Source: SourceURI}, nil
}

// checkName applies the configuration's host name rule: 1 to 63
// letters, digits, '-' and '_'.
func checkName(s string) error {
	if s == "" || len(s) > 63 {
		return fmt.Errorf("name %q: want 1 to 63 bytes", s)
	}
	for _, r := range s {
		if !(r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return fmt.Errorf("name %q: may hold only letters, digits, '-' and '_'", s)
		}
	}
	return nil
}

func dpidOf(host string) flows.DPID { return topo.DPIDFor(host) }

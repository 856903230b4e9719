// Package pki makes and checks the certificates of ovsmesh's TLS
// connections: the OpenFlow connections ovs-vswitchd makes to the
// controller (ssl:IP:PORT targets) and the OVSDB connections the
// controller makes to each host's ovsdb-server (ssl:IP:PORT).
//
// A CA (NewCA) signs the controller's certificate (IssueController: TLS
// server and client) and one certificate per host (IssueHost: TLS
// client and server). A host certificate binds the host's name and its
// pinned datapath ID (topo.DPIDFor) in a URI subject alternative name,
// ovsmesh://host/NAME?dpid=DPID, with the name also in the common name.
// IdentityOf reads that binding back, and reads certificates made by
// ovs-pki (common name "NAME id:UUID") too. docs/security.md explains
// the choice and how the files reach the hosts.
//
// Loader holds the PEM files of one side and reads them again when they
// change on disk; its ServerConfig and ClientConfig give crypto/tls
// configurations that pick up re-issued certificates at the next
// handshake and refuse peers with typed errors (*CertError wrapping
// ErrExpired, ErrUnknownCA, ErrKeyUsage, ...; ErrIdentity;
// ErrWrongHost).
//
// Everything here is crypto/x509 and crypto/tls; keys are ECDSA P-256 by
// default (DefaultKeyType), which Open vSwitch 3.1 with OpenSSL 3 was
// checked to accept.
package pki

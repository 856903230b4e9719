package main

import (
	"github.com/ovsmesh/ovsmesh/apps"
	"github.com/ovsmesh/ovsmesh/apps/learning"
	"github.com/ovsmesh/ovsmesh/apps/nat"
	"github.com/ovsmesh/ovsmesh/apps/portsec"
	"github.com/ovsmesh/ovsmesh/apps/proxyarp"
)

// builtins are the apps ovsmesh runs, one line each. Their stages run in
// table order, whatever the order here; handlers for events every app
// sees (switch up, port status) run in this order.
var builtins = []apps.Spec{
	portsec.Spec,
	learning.Spec,
	proxyarp.Spec,
	nat.Spec,
}

package flows

import "fmt"

// Cookie is a flow cookie laid out as
//
//	|generation 16|app 8|reserved 8|object 32|
//
// (antrea's pkg/agent/openflow/cookie, with a generation instead of a
// round). The generation changes each time the controller starts; on
// reconnect the apps replay their flows under the new generation and the
// controller deletes older generations by cookie and mask.
type Cookie uint64

// AppID names the app that owns a flow (the cookie's app byte). Each app
// declares its own; zero is never used by ovsmesh, so a zero cookie marks
// a flow someone else added.
type AppID uint8

// AppBaseline is the controller's own app ID: the table-miss entry of
// every stage.
const AppBaseline AppID = 1

const (
	cookieGenShift = 48
	cookieAppShift = 40
	// CookieGenAppMask selects the generation and app fields.
	CookieGenAppMask Cookie = 0xffff_ff00_0000_0000
	// CookieAppMask selects the app field.
	CookieAppMask Cookie = 0x0000_ff00_0000_0000
)

// NewCookie builds a cookie from a generation, an app and a 32-bit object
// ID (app-defined, 0 for none).
func NewCookie(gen uint16, app AppID, object uint32) Cookie {
	return Cookie(gen)<<cookieGenShift | Cookie(app)<<cookieAppShift | Cookie(object)
}

// Generation returns the cookie's generation field.
func (c Cookie) Generation() uint16 { return uint16(c >> cookieGenShift) }

// App returns the cookie's app field.
func (c Cookie) App() AppID { return AppID(c >> cookieAppShift) }

// Object returns the cookie's object field.
func (c Cookie) Object() uint32 { return uint32(c) }

// Owned reports whether the cookie carries an ovsmesh app ID.
func (c Cookie) Owned() bool { return c.App() != 0 }

// String renders the cookie as ovs-ofctl prints it ("0x1a00...").
func (c Cookie) String() string { return fmt.Sprintf("%#x", uint64(c)) }

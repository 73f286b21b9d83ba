//go:build !linux

package relay

import "net"

func gsoSupported(*net.UDPConn) bool { return false }
func gsoControl([]byte, int) []byte  { return nil }
func gsoRefused(error) bool          { return false }

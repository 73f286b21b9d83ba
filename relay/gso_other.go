//go:build !linux

package relay

import "net"

func gsoSupported(*net.UDPConn) bool { return false }
func gsoControl(int) []byte          { return nil }
func gsoRefused(error) bool          { return false }

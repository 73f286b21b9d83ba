package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

// printHash reads a password (one line) from in and writes its bcrypt hash,
// at bcrypt's default cost of 10, to out: the value of a user's
// password_hash in the config.
//
//	echo -n 'the password' | bridge -hash-password
func printHash(in io.Reader, out io.Writer) error {
	line, err := bufio.NewReader(in).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("read the password: %w", err)
	}
	pw := strings.TrimRight(line, "\r\n")
	if pw == "" {
		return errors.New("no password on stdin; try: echo -n 'the password' | bridge -hash-password")
	}
	h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.DefaultCost)
	if err != nil {
		return fmt.Errorf("hash the password: %w", err) // longer than 72 bytes
	}
	_, err = fmt.Fprintln(out, string(h))
	return err
}

package api

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
)

// Every JSON request body is read here, through bindJSON, and nowhere else:
// one cap on its size, one set of sentences for what is wrong with it, and
// nothing of the body echoed back beyond a short quote (see clip).

// maxJSONBytes bounds a JSON request body.
const maxJSONBytes = 64 << 10

// bindJSON decodes the request's JSON body into v. An empty body is fine
// when optional; like is an example of the body for the error sentence.
func bindJSON(c *gin.Context, v any, like string, optional bool) error {
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, maxJSONBytes)
	err := json.NewDecoder(c.Request.Body).Decode(v)
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	var me *http.MaxBytesError
	switch {
	case err == nil:
		return nil
	case errors.Is(err, io.EOF):
		if optional {
			return nil
		}
		return Coded(http.StatusBadRequest, MsgBadBody, nil, "the body is empty; send JSON like %s", like)
	case errors.As(err, &me):
		return Coded(http.StatusRequestEntityTooLarge, MsgBadBody, nil, "the body is larger than %d KiB", maxJSONBytes>>10)
	case errors.As(err, &te) && te.Field != "":
		return Coded(http.StatusBadRequest, MsgBadBody, nil, "the field %q must be %s, not %s; send JSON like %s", te.Field, jsonKind(te.Type.Kind().String()), te.Value, like)
	case errors.As(err, &se), errors.As(err, &te), errors.Is(err, io.ErrUnexpectedEOF):
		return Coded(http.StatusBadRequest, MsgBadBody, nil, "the body is not JSON of the right shape (%v); send JSON like %s", err, like)
	}
	return Coded(http.StatusBadRequest, MsgBadBody, nil, "cannot read the body: %v", err)
}

func jsonKind(goKind string) string {
	switch {
	case strings.HasPrefix(goKind, "int"), strings.HasPrefix(goKind, "uint"), strings.HasPrefix(goKind, "float"):
		return "a number"
	case goKind == "bool":
		return "true or false"
	case goKind == "string":
		return "a string"
	case goKind == "slice":
		return "a list"
	}
	return "an object"
}

// clip quotes a value the client sent, cut to a few dozen characters, for
// an error sentence: a refusal never carries a large body back.
func clip(s string) string {
	const most = 40
	if len(s) <= most {
		return strconv.Quote(s)
	}
	cut := most
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strconv.Quote(s[:cut]) + "…"
}

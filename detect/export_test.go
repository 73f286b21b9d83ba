package detect

// TinySSD writes the tiny test model (see objects_test.go) for the tests
// of package detect_test.
var TinySSD = tinySSD

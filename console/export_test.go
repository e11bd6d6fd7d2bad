package console

// APIJSON is apiJSON, for tests.
var APIJSON = apiJSON

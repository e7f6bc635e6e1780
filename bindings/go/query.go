package dci

/*
#include <stdlib.h>
#include <stdbool.h>
#include "dci.h"
*/
import "C"

import (
	"encoding/json"
	"runtime"
)

// Query is a search query as it goes into search_criteria: its query_type ("idtype-value",
// "predicate", "expression") and the query JSON.
type Query struct {
	Type  string          `json:"query_type"`
	Query json.RawMessage `json:"query"`
}

func marshalArg(name string, v any) (*C.char, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, &Error{Kind: KindJSON, Code: "err.request.bad", Message: "dci: " + name + ": " + err.Error()}
	}
	return cString(string(b)), nil
}

// IDTypeValue is an idtype-value query: the identifier of type idType ("UIN", "BRN", ...)
// equal to value.
func IDTypeValue(idType, value string) (Query, error) {
	ct, cv := cString(idType), cString(value)
	defer freeC(ct)
	defer freeC(cv)
	return decode[Query](callOut(func(o **C.char, e **C.dci_error) C.dci_result {
		return C.dci_query_idtype_value(ct, cv, o, e)
	}))
}

// Expression is an expression query from a Mongo-style filter (a value that marshals to
// {"age": {"$lt": 25}, ...}), with an optional collection ("" for none).
func Expression(filter any, collection string) (Query, error) {
	cf, err := marshalArg("filter", filter)
	if err != nil {
		return Query{}, err
	}
	defer freeC(cf)
	cc := optCString(collection)
	defer freeC(cc)
	return decode[Query](callOut(func(o **C.char, e **C.dci_error) C.dci_result {
		return C.dci_query_expression(cf, cc, o, e)
	}))
}

// ParseQuery checks a query as found in a search request (queryType also namespaced, like
// "ns:org:QueryType:predicate") and returns its normal form.
func ParseQuery(queryType string, query []byte) (Query, error) {
	ct, cq := cString(queryType), cString(string(query))
	defer freeC(ct)
	defer freeC(cq)
	return decode[Query](callOut(func(o **C.char, e **C.dci_error) C.dci_result {
		return C.dci_query_parse(ct, cq, o, e)
	}))
}

// Matches reports whether a record (JSON) matches the query.
func (q Query) Matches(record []byte) (bool, error) {
	cr, ct, cq := cString(string(record)), cString(q.Type), cString(string(q.Query))
	defer freeC(cr)
	defer freeC(ct)
	defer freeC(cq)
	var m C.bool
	if err := call(func(e **C.dci_error) C.dci_result {
		return C.dci_query_matches(cr, ct, cq, &m, e)
	}); err != nil {
		return false, err
	}
	return bool(m), nil
}

// PredicateList builds a predicate query: items that must all hold, each
// "attribute operator value", optionally joined to a second expression.
type PredicateList struct{ p *C.dci_predicate_list }

// NewPredicateList makes an empty predicate query.
func NewPredicateList() (*PredicateList, error) {
	var p *C.dci_predicate_list
	if err := call(func(e **C.dci_error) C.dci_result { return C.dci_predicate_list_new(&p, e) }); err != nil {
		return nil, err
	}
	l := &PredicateList{p}
	runtime.SetFinalizer(l, (*PredicateList).Close)
	return l, nil
}

// Add appends the item "attribute op value"; op is one of gt lt eq ge le in, value any JSON
// value (a slice for in).
func (l *PredicateList) Add(attribute, op string, value any) error {
	return l.withExpression(attribute, op, value, func(ca, co, cv *C.char, e **C.dci_error) C.dci_result {
		return C.dci_predicate_list_add(l.p, ca, co, cv, e)
	})
}

// Join joins a second expression to the last item: condition "and", "or" or "not"
// (e1 AND NOT e2).
func (l *PredicateList) Join(condition, attribute, op string, value any) error {
	cc := cString(condition)
	defer freeC(cc)
	return l.withExpression(attribute, op, value, func(ca, co, cv *C.char, e **C.dci_error) C.dci_result {
		return C.dci_predicate_list_join(l.p, cc, ca, co, cv, e)
	})
}

// withExpression runs a call on the list with the expression "attribute op value" in C form.
func (l *PredicateList) withExpression(attribute, op string, value any, f func(ca, co, cv *C.char, e **C.dci_error) C.dci_result) error {
	if l == nil || l.p == nil {
		return closedError("PredicateList")
	}
	defer runtime.KeepAlive(l)
	cv, err := marshalArg("value", value)
	if err != nil {
		return err
	}
	defer freeC(cv)
	ca, co := cString(attribute), cString(op)
	defer freeC(ca)
	defer freeC(co)
	return call(func(e **C.dci_error) C.dci_result { return f(ca, co, cv, e) })
}

// Not negates the last item (condition "not" without a second expression).
func (l *PredicateList) Not() error {
	if l == nil || l.p == nil {
		return closedError("PredicateList")
	}
	defer runtime.KeepAlive(l)
	cc := cString("not")
	defer freeC(cc)
	return call(func(e **C.dci_error) C.dci_result {
		return C.dci_predicate_list_join(l.p, cc, nil, nil, nil, e)
	})
}

// Query is the predicate query built so far.
func (l *PredicateList) Query() (Query, error) {
	if l == nil || l.p == nil {
		return Query{}, closedError("PredicateList")
	}
	defer runtime.KeepAlive(l)
	return decode[Query](callOut(func(o **C.char, e **C.dci_error) C.dci_result {
		return C.dci_predicate_list_to_json(l.p, o, e)
	}))
}

// Close frees the list. Calling it again does nothing.
func (l *PredicateList) Close() error {
	return release(l, func() **C.dci_predicate_list { return &l.p }, func(p *C.dci_predicate_list) { C.dci_predicate_list_free(p) })
}

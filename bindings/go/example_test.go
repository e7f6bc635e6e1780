package dci_test

import (
	"fmt"
	"log"
	"time"

	dci "github.com/libdci/libdci/bindings/go"
)

// Build a search request, sign it, verify it, and evaluate its query against a record.
func Example() {
	key, err := dci.GenerateSigningKey("ed25519")
	if err != nil {
		log.Fatal(err)
	}
	defer key.Close()
	signer, err := dci.NewSigner(key, "spmis.example.org", "key1")
	if err != nil {
		log.Fatal(err)
	}
	defer signer.Close()

	query, err := dci.IDTypeValue("UIN", "847951632")
	if err != nil {
		log.Fatal(err)
	}
	envelope, err := dci.NewSearchRequest(dci.SearchOptions{
		SenderID:   "spmis.example.org",
		ReceiverID: "crvs.example.org",
		RegType:    "ns:org:RegistryType:Civil",
		Queries:    []dci.Query{query},
	})
	if err != nil {
		log.Fatal(err)
	}
	signed, err := signer.Sign(envelope, time.Time{}) // zero time: the system clock
	if err != nil {
		log.Fatal(err)
	}

	pub, err := key.VerifyingKey()
	if err != nil {
		log.Fatal(err)
	}
	defer pub.Close()
	verified, err := dci.Verify(signed, pub, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("verified:", verified.Profile, verified.Algorithm, verified.Kid)

	match, err := query.Matches([]byte(`{"identifier":[{"identifier_type":"UIN","identifier_value":"847951632"}]}`))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("query:", query.Type, string(query.Query), "match:", match)
	// Output:
	// verified: spdci ed25519 spmis.example.org|key1|ed25519
	// query: idtype-value {"type":"UIN","value":"847951632"} match: true
}

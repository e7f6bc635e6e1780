"""Round trips against the reference server (`dci serve --demo`, started by the `registry`
fixture): sync search, async search with the callback arriving at the listener, subscribe then
notify, transaction status, the services, and many threads at once."""

import concurrent.futures

import pytest

import dci


def data_source(registry, prefix="", **extra):
    return dci.DataSource(
        registry.url + prefix,
        registry.sender_id,
        code=extra.pop("code", "crvs_main"),
        registry_type=extra.pop("registry_type", "crvs"),
        auth_type="oauth2",
        oauth2_client_id=registry.client_id,
        oauth2_client_secret=registry.client_secret,
        oauth2_token_url=registry.url + "/oauth2/client/token",
        signing_key=dci.SigningKey.load(registry.sender_key_path),
        signing_key_id="demo-key-1",
        registry_jwks_url=registry.url + "/.well-known/jwks.json",
        **extra,
    )


@pytest.fixture(scope="module")
def client(registry):
    return dci.DCIClient(data_source(registry))


def records(response):
    # The path OpenSPP code reads.
    return response.get("message", {}).get("search_response", [{}])[0].get("data", {}).get("reg_records", [])


def uin_of(record):
    return next(i["identifier_value"] for i in record["identifier"] if i["identifier_type"] == "UIN")


def test_search_by_id_round_trip(client):
    response = client.search_by_id("UIN", "TEST-001")
    assert response["header"]["action"] == "on-search"
    assert response["header"]["status"] == "succ"
    [rec] = records(response)
    assert uin_of(rec) == "TEST-001"
    assert rec["@type"] == "Person"
    # The response is signed by the registry and verifies against its JWKS.
    assert response["signature"]


def test_search_forms(client):
    one = records(client.search("idtype-value", "UIN:100000001"))
    assert [uin_of(r) for r in one] == ["100000001"]
    same = records(client.search_sync(dci.Query.idtype_value("UIN", "100000001")))
    assert same == one
    pred = client.search_by_predicate([dci.Predicate("sex", "eq", "female").and_("birth_date", "ge", "2024-01-01")], page_size=5)
    got = records(pred)
    assert 0 < len(got) <= 5
    assert all(r["sex"] == "female" and r["birth_date"] >= "2024-01-01" for r in got)
    by_range = records(client.search_by_date_range("2024-01-01", "2024-03-31", attribute_name="birth_date", page_size=50))
    assert by_range and all("2024-01-01" <= r["birth_date"] <= "2024-03-31" for r in by_range)
    expr = records(client.search_by_expression(dci.Query.expression({"sex": {"$eq": "male"}}), page_size=3))
    assert len(expr) == 3 and all(r["sex"] == "male" for r in expr)


def test_search_all_pages(client):
    every = client.search_all("predicate", [dci.Predicate("birth_date", "ge", "2024-06-01").to_dict()], page_size=7)
    assert len(every) > 7
    assert len({uin_of(r) for r in every}) == len(every)


def test_unknown_record_and_rejections(client):
    assert records(client.search_by_id("UIN", "no-such-person")) == []
    # A predicate the client can check is refused before sending, naming the field (as in C).
    with pytest.raises(dci.ValidationError) as e:
        client.search_by_predicate([{"expression1": {"attribute_name": "age", "operator": "like", "attribute_value": 1}}])
    assert e.value.kind == "query" and e.value.field.endswith("operator")
    # An expression is the registry's grammar: it rejects it with a ProtocolError, the rjct
    # code and the transaction.
    with pytest.raises(dci.ProtocolError) as e:
        client.search_by_expression({"age": {"$like": 1}})
    assert e.value.code.startswith("rjct")
    assert e.value.transaction_id


def test_bad_credentials_are_an_auth_error(registry):
    ds = data_source(registry).replace(auth={"type": "oauth2", "client_id": registry.client_id, "client_secret": "wrong"})
    with pytest.raises(dci.AuthError) as e:
        dci.DCIClient(ds).search_by_id("UIN", "TEST-001")
    assert e.value.kind == "auth"


def test_test_connection_and_token_cache(client):
    report = client.test_connection()
    assert report["authenticated"] is True and report["reachable"] is True
    client.clear_oauth2_token_cache()
    assert records(client.search_by_id("UIN", "TEST-001"))


def test_async_search_callback_reaches_the_listener(registry):
    with dci.CallbackListener(port=0) as listener:
        client = dci.DCIClient(data_source(registry, our_callback_uri=listener.url))
        listener.start(client)
        ack = client.search_by_id("UIN", "TEST-001", async_mode=True)
        assert ack["ack_status"] == "ACK"
        result = listener.wait_for(ack["transaction_id"], timeout=60)
        assert result["kind"] == "search"
        [item] = result["result"]["items"]
        assert [uin_of(r) for r in item["records"]] == ["TEST-001"]
        assert result["result"]["signature"]["verified"] is True


def test_upload_searches_and_a_file_with_a_bad_row(registry, tmp_path):
    with dci.CallbackListener(port=0) as listener:
        client = dci.DCIClient(data_source(registry, our_callback_uri=listener.url))
        listener.start(client)
        specs = [{"query_type": "idtype-value", "query": {"type": "UIN", "value": uin}} for uin in ("TEST-001", "100000001")]
        out = client.upload_searches(specs)
        report = out["report"]
        assert (report["ack_status"], report["rows"], report["rejected"]) == ("ACK", 2, [])
        for txn, uin in zip(out["transaction_ids"], ("TEST-001", "100000001")):
            result = listener.wait_for(txn, timeout=60)
            [item] = result["result"]["items"]
            assert [uin_of(r) for r in item["records"]] == [uin]
        # A CSV file from disk without the three columns is refused whole, naming them.
        bad = tmp_path / "rows.csv"
        bad.write_text("a,b\n1,2\n")
        with pytest.raises(dci.DCIError) as e:
            client.upload("search", bad, file_format="csv")
        assert "signature, header and message" in str(e.value)
        # Bytes: one row that is not an envelope, reported by its row.
        report = client.upload("search", b"[7]")
        assert report["ack_status"] == "ERR"
        assert [r["row"] for r in report["rejected"]] == [1]


def test_txn_status_of_an_async_search(registry):
    with dci.CallbackListener(port=0) as listener:
        client = dci.DCIClient(data_source(registry, our_callback_uri=listener.url))
        listener.start(client)
        ack = client.search_async("idtype-value", {"type": "UIN", "value": "100000002"})
        listener.wait_for(ack["transaction_id"], timeout=60)
        status = client.txn_status(ack["transaction_id"])
        assert status["header"]["action"] == "txn-on-status"
        assert status["message"]["txnstatus_response"]["txn_type"] == "search"


def test_subscribe_then_notify(registry):
    import threading

    with dci.CallbackListener(port=0) as listener:
        client = dci.DCIClient(data_source(registry, our_callback_uri=listener.url))
        listener.start(client)
        events = []
        arrived = threading.Event()
        listener.on_notify(lambda ev: (events.append(ev), arrived.set()))
        service = dci.CRVSService(client)
        ack = service.subscribe_events(["spdci-common:RegistryEventType:LiveBirth"])
        sub = listener.wait_for(ack["transaction_id"], timeout=60)
        assert sub["kind"] == "subscribe"
        codes = [s["code"] for item in sub["result"]["items"] for s in item["subscriptions"]]
        assert codes
        newborn = {
            "@type": "Person",
            "identifier": [{"identifier_type": "UIN", "identifier_value": "PY-NEWBORN-1"}],
            "name": {"given_name": "Nia", "surname": "Test"},
            "sex": "female",
            "birth_date": "2025-11-01",
        }
        registry.post_records({"registry": "crvs", "record_type": "Person", "event_type": "LiveBirth", "records": [newborn]})
        assert arrived.wait(60), "no notify callback arrived"
        recs = [r for item in events[0]["items"] for r in item["records"]]
        assert [uin_of(r) for r in recs] == ["PY-NEWBORN-1"]
        unsub = client.unsubscribe(codes)
        assert unsub["ack_status"] == "ACK"


def test_scheduled_subscription_gets_one_batched_notify(registry):
    import datetime
    import threading

    now = datetime.datetime.now(datetime.timezone.utc)
    window = {
        "start_time": (now - datetime.timedelta(minutes=1)).isoformat(timespec="seconds"),
        "end_time": (now + datetime.timedelta(hours=1)).isoformat(timespec="seconds"),
        "frequency": "* * * * * ?",  # every second (Quartz form, as the spec's example)
    }
    with dci.CallbackListener(port=0) as listener:
        client = dci.DCIClient(data_source(registry, our_callback_uri=listener.url))
        listener.start(client)
        events = []
        arrived = threading.Event()
        listener.on_notify(lambda ev: (events.append(ev), arrived.set()))
        ack = client.subscribe("spdci-common:RegistryEventType:LiveBirth", frequency=window)
        sub = listener.wait_for(ack["transaction_id"], timeout=60)
        subscription = sub["result"]["items"][0]["subscriptions"][0]
        assert subscription["raw"]["frequency"]["frequency"] == "* * * * * ?"
        twins = [
            {"@type": "Person", "identifier": [{"identifier_type": "UIN", "identifier_value": uin}],
             "name": {"given_name": "Twin", "surname": "Batch"}, "birth_date": "2025-11-02"}
            for uin in ("PY-TWIN-1", "PY-TWIN-2")
        ]
        answer = registry.post_records({"registry": "crvs", "record_type": "Person", "event_type": "LiveBirth", "records": twins})
        assert answer["events_batched"] == 2
        assert arrived.wait(60), "no notify callback arrived"
        mine = [e for e in events if e.get("subscription_code", subscription["code"]) == subscription["code"]]
        recs = [r for item in mine[0]["items"] for r in item["records"]]
        assert [uin_of(r) for r in recs] == ["PY-TWIN-1", "PY-TWIN-2"]
        client.unsubscribe([subscription["code"]])


def test_crvs_service(registry, client):
    crvs = dci.CRVSService(data_source(registry))
    raw = records(client.search_by_id("UIN", "TEST-001"))[0]
    birth = crvs.verify_birth("UIN", "TEST-001")
    assert birth["birth_date"] == raw["birth_date"]
    assert birth["given_name"] == raw["name"]["given_name"]
    assert birth["person_name"].startswith(raw["name"]["given_name"])
    assert crvs.verify_birth("UIN", "no-such-person") is None
    assert crvs.is_deceased("UIN", "TEST-001") is ("death_date" in raw)
    dead = records(client.search_by_expression(dci.Query.expression({"death_date": {"$exists": True}}), page_size=1))
    assert dead and crvs.is_deceased("UIN", uin_of(dead[0])) is True


def test_ibr_service(registry):
    ibr = dci.IBRService(data_source(registry, "/ibr", registry_type="ibr", code="ibr_main"))
    any_ben = records(ibr.client.search_by_expression(dci.Query.expression({"enrollment_status": {"$eq": "active"}}), page_size=1))[0]
    uin = any_ben["person_identifier"]["identifier_value"]
    result = ibr.check_duplication([("UIN", uin)])
    assert result["is_duplicate"] is True and result.is_duplicate
    assert any_ben["programme"]["programme_name"] in result["matched_programs"]
    assert result.to_dict()["matched_programs"] == result.matched_programs
    assert ibr.check_duplication({"UIN": "no-such-person"})["is_duplicate"] is False
    [info] = ibr.search_beneficiary("UIN", uin)
    assert info.identifier_value == uin and info["programs"] == info.programs
    assert any_ben["programme"]["programme_name"] in info.programs


def test_dr_service(registry):
    dr = dci.DRService(data_source(registry, "/dr", registry_type="dr", code="dr_main"))
    person = records(dr.client.search_by_expression(dci.Query.expression({"disability_status": {"$eq": "Approved"}}), page_size=1))[0]
    uin = uin_of(person)
    status = dr.get_disability_status("UIN", uin)
    assert status["has_disability"] is True
    assert status["disability_level"] == person["disability_level"]
    assert dr.is_pwd("UIN", uin) is True
    assert dr.get_disability_status("UIN", "no-such-person") is None
    assert dr.get_functional_scores("UIN", "no-such-person") == {}


WG_DOMAIN = {"VIS_SS": "Vision", "HEAR_SS": "Hearing", "MOB_SS": "Mobility", "COG_SS": "Cognition", "SC_SS": "Self-Care", "COM_SS": "Communication"}


def test_dr_functional_scores(registry):
    dr = dci.DRService(data_source(registry, "/dr", registry_type="dr", code="dr_main"))
    person = records(dr.client.search_by_expression(dci.Query.expression({"disability_status": {"$eq": "Approved"}}), page_size=1))[0]
    expected = {WG_DOMAIN[k]: v for k, v in person["washington_group"].items()}
    assert dr.get_functional_scores("UIN", uin_of(person)) == expected
    assert dr.get_disability_status("UIN", uin_of(person))["functional_scores"] == expected


def test_one_client_from_many_threads(client):
    uins = [f"{100000000 + i}" for i in range(1, 41)]
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        found = list(pool.map(lambda u: [uin_of(r) for r in records(client.search_by_id("UIN", u))], uins))
    assert found == [[u] for u in uins]


def test_signer_given_in_code_and_data_source_test_connection(registry):
    # The signing key handed over as a Signer instead of the data source's signing section.
    source = data_source(registry).replace(signing=None)
    signer = dci.Signer(dci.SigningKey.load(registry.sender_key_path), registry.sender_id, "demo-key-1")
    client = dci.DCIClient(source, signer=signer)
    assert [uin_of(r) for r in records(client.search_by_id("UIN", "TEST-001"))] == ["TEST-001"]
    assert source.test_connection()["reachable"] is True


def test_ibr_enrolled_unknown_person(registry):
    ibr = dci.IBRService(data_source(registry, "/ibr", registry_type="ibr", code="ibr_main"))
    assert ibr.enrolled("UIN", "no-such-person") is False


def test_ibr_enrolled_active_beneficiary(registry):
    ibr = dci.IBRService(data_source(registry, "/ibr", registry_type="ibr", code="ibr_main"))
    ben = records(ibr.client.search_by_expression(dci.Query.expression({"enrollment_status": {"$eq": "active"}}), page_size=1))[0]
    assert ibr.enrolled("UIN", ben["person_identifier"]["identifier_value"]) is True

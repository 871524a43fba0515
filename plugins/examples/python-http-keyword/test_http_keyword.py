"""Unit tests of http_keyword.py; run natively: `python3 -m unittest`."""

import json
import unittest
from types import SimpleNamespace

from http_keyword import (
    Config,
    ConfigError,
    PointerMiss,
    check_json,
    check_keyword,
    check_status,
    evaluate,
    json_equal,
    net_error,
    parse_config,
    parse_pointer,
    request_timeout_ms,
    resolve_pointer,
)


def response(status=200, body=b"", truncated=False, headers=()):
    return SimpleNamespace(
        status=status,
        headers=list(headers),
        body=body,
        body_truncated=truncated,
        final_url="http://example.test/",
        redirects=0,
        timing=SimpleNamespace(
            dns_ns=1_000_000,
            connect_ns=2_000_000,
            tls_ns=None,
            first_byte_ns=5_000_000,
            done_ns=7_000_000,
            redirect_ns=3_000_000,
        ),
        tls=None,
    )


class ConfigTest(unittest.TestCase):
    def test_empty_config_takes_the_defaults(self):
        for text in ("", "  ", "{}"):
            config = parse_config(text)
            self.assertEqual(config, Config())
        self.assertFalse(Config().json_assertion)
        self.assertEqual(Config().method, "GET")
        self.assertTrue(Config().tls_verify)
        self.assertEqual(Config().body_max, 1 << 20)

    def test_every_field_parses(self):
        config = parse_config(json.dumps({
            "keyword": "ok", "json_pointer": "/a/0", "json_equals": None,
            "expect_status": [200, "3xx"], "method": "post", "timeout_ms": 500,
            "tls_verify": False, "max_redirects": 0, "body_max": 10,
        }))
        self.assertEqual(config.keyword, "ok")
        self.assertEqual(config.json_pointer, "/a/0")
        self.assertTrue(config.has_json_equals)
        self.assertIsNone(config.json_equals)
        self.assertEqual(config.expect_status, (200, "3xx"))
        self.assertEqual(config.method, "POST")
        self.assertEqual(config.timeout_ms, 500)
        self.assertFalse(config.tls_verify)
        self.assertEqual(config.max_redirects, 0)
        self.assertEqual(config.body_max, 10)

    def test_a_single_status_is_a_list_of_one(self):
        self.assertEqual(parse_config('{"expect_status": 204}').expect_status, (204,))

    def test_bad_configs_are_refused_naming_the_field(self):
        for text, word in [
            ("[]", "object"),
            ("{", "not JSON"),
            ('{"surprise": 1}', "surprise"),
            ('{"keyword": ""}', "keyword"),
            ('{"keyword": 3}', "keyword"),
            ('{"json_pointer": "a"}', "json_pointer"),
            ('{"json_pointer": "/a~2"}', "'~'"),
            ('{"expect_status": []}', "expect_status"),
            ('{"expect_status": 99}', "expect_status"),
            ('{"expect_status": ["6xx"]}', "expect_status"),
            ('{"expect_status": true}', "expect_status"),
            ('{"method": "FETCH"}', "method"),
            ('{"timeout_ms": 0}', "timeout_ms"),
            ('{"timeout_ms": true}', "timeout_ms"),
            ('{"tls_verify": 1}', "tls_verify"),
            ('{"body_max": 99999999}', "body_max"),
        ]:
            with self.subTest(text=text):
                with self.assertRaises(ConfigError) as caught:
                    parse_config(text)
                message = str(caught.exception)
                self.assertTrue(message.startswith("config: "), message)
                self.assertIn(word, message)

    def test_the_timeout_stays_within_the_budget(self):
        self.assertEqual(request_timeout_ms(None, 1000), 1000)
        self.assertEqual(request_timeout_ms(200, 1000), 200)
        self.assertEqual(request_timeout_ms(5000, 1000), 1000)


class StatusTest(unittest.TestCase):
    def test_by_default_any_2xx_or_3xx_passes(self):
        for status in (200, 204, 301, 399):
            self.assertIsNone(check_status((), status))
        self.assertEqual(check_status((), 404), "status 404 is not 2xx or 3xx")
        self.assertEqual(check_status((), 199), "status 199 is not 2xx or 3xx")

    def test_codes_and_classes(self):
        self.assertIsNone(check_status((200,), 200))
        self.assertEqual(check_status((200,), 500), "status 500 is not one of 200")
        self.assertIsNone(check_status((204, "4xx"), 404))
        self.assertIsNone(check_status(("5XX",), 503))
        self.assertEqual(check_status((204, "4xx"), 200), "status 200 is not one of 204, 4xx")


class KeywordTest(unittest.TestCase):
    def test_found_and_missing(self):
        self.assertIsNone(check_keyword("hello", b"<p>hello world</p>", False))
        self.assertEqual(
            check_keyword("foo", b"x" * 1234, False),
            "body does not contain 'foo' (1234 bytes read)",
        )

    def test_non_ascii_keywords_match_utf8_bodies(self):
        self.assertIsNone(check_keyword("café", "un café".encode("utf-8"), False))

    def test_a_cut_body_says_so(self):
        message = check_keyword("foo", b"x" * 10, True)
        self.assertIn("10 bytes read", message)
        self.assertIn("body_max", message)

    def test_long_keywords_are_shortened_in_messages(self):
        message = check_keyword("k" * 200, b"", False)
        self.assertIn("…", message)
        self.assertLess(len(message), 120)


class PointerTest(unittest.TestCase):
    DOC = {"a": [10, {"b": True}], "x/y": 1, "m~n": 2, "": 3}

    def test_rfc6901_tokens(self):
        self.assertEqual(parse_pointer(""), [])
        self.assertEqual(parse_pointer("/"), [""])
        self.assertEqual(parse_pointer("/a/0"), ["a", "0"])
        self.assertEqual(parse_pointer("/x~1y"), ["x/y"])
        self.assertEqual(parse_pointer("/m~0n"), ["m~n"])
        self.assertEqual(parse_pointer("/~01"), ["~1"])

    def test_resolves_members_and_indexes(self):
        doc = self.DOC
        self.assertEqual(resolve_pointer(doc, []), doc)
        self.assertEqual(resolve_pointer(doc, parse_pointer("/a/1/b")), True)
        self.assertEqual(resolve_pointer(doc, parse_pointer("/x~1y")), 1)
        self.assertEqual(resolve_pointer(doc, parse_pointer("/m~0n")), 2)
        self.assertEqual(resolve_pointer(doc, parse_pointer("/")), 3)

    def test_misses_say_where(self):
        for pointer, words in [
            ("/nope", "no member 'nope' in the object at the root"),
            ("/a/2", "index 2 is past the end of the array at /a (2 items)"),
            ("/a/01", "'01' is not an index of the array at /a"),
            ("/a/-", "'-' is not an index"),
            ("/a/0/c", "the value at /a/0 is a number, not an object or array"),
        ]:
            with self.subTest(pointer=pointer):
                with self.assertRaises(PointerMiss) as caught:
                    resolve_pointer(self.DOC, parse_pointer(pointer))
                self.assertIn(words, str(caught.exception))


class JsonTest(unittest.TestCase):
    def test_json_equality_keeps_booleans_apart_from_numbers(self):
        self.assertTrue(json_equal(1, 1.0))
        self.assertTrue(json_equal({"a": [1, None]}, {"a": [1.0, None]}))
        self.assertFalse(json_equal(True, 1))
        self.assertFalse(json_equal(0, False))
        self.assertFalse(json_equal([1], [1, 2]))
        self.assertFalse(json_equal({"a": 1}, {"b": 1}))
        self.assertFalse(json_equal("1", 1))
        self.assertFalse(json_equal(None, False))

    def config(self, **fields):
        return parse_config(json.dumps(fields))

    def test_equal_values_pass(self):
        body = b'{"status": "up", "checks": [{"ok": true}]}'
        self.assertIsNone(check_json(self.config(json_pointer="/status", json_equals="up"), body, False))
        self.assertIsNone(check_json(self.config(json_pointer="/checks/0/ok", json_equals=True), body, False))
        self.assertIsNone(check_json(self.config(json_pointer="/checks"), body, False))
        self.assertIsNone(check_json(self.config(json_equals={"status": "up", "checks": [{"ok": True}]}), body, False))

    def test_a_different_value_fails(self):
        message = check_json(self.config(json_pointer="/status", json_equals="up"), b'{"status":"down"}', False)
        self.assertEqual(message, 'JSON at \'/status\' is "down", expected "up"')
        message = check_json(self.config(json_equals=1), b"true", False)
        self.assertEqual(message, "JSON body is true, expected 1")

    def test_null_is_a_value_to_expect(self):
        config = self.config(json_pointer="/a", json_equals=None)
        self.assertIsNone(check_json(config, b'{"a": null}', False))
        self.assertIn("expected null", check_json(config, b'{"a": 0}', False))

    def test_a_missing_member_fails(self):
        message = check_json(self.config(json_pointer="/a/b"), b'{"a": {}}', False)
        self.assertEqual(message, "JSON body has nothing at '/a/b': no member 'b' in the object at /a")

    def test_a_body_that_is_not_json_is_a_clear_error(self):
        config = self.config(json_pointer="/a")
        self.assertEqual(
            check_json(config, b"<html>", False),
            "body is not JSON (Expecting value), so json_pointer '/a' cannot be checked",
        )
        self.assertIn("the body is empty", check_json(config, b"", False))
        self.assertIn("not UTF-8", check_json(config, b'"\xff"', False))
        self.assertIn("not UTF-8", check_json(config, '{"a": 1}'.encode("utf-16"), False))
        self.assertIsNone(check_json(config, b'\xef\xbb\xbf{"a": 1}', False))
        self.assertIn("body_max", check_json(config, b'{"a": 1', True))
        self.assertIn("nested too deeply", check_json(config, b"[" * 100_000, False))


class EvaluateTest(unittest.TestCase):
    def test_samples_accompany_every_verdict(self):
        verdict = evaluate(Config(), response(body=b"hello"))
        self.assertEqual(verdict.status, "OK")
        self.assertIsNone(verdict.message)
        self.assertEqual(
            verdict.samples,
            [
                ("total_time", 0.01, "SECONDS"),
                ("first_byte_time", 0.005, "SECONDS"),
                ("status_code", 200.0, "NONE"),
                ("body_size", 5.0, "BYTES"),
            ],
        )
        failed = evaluate(Config(), response(status=503))
        self.assertEqual(failed.status, "ERROR")
        self.assertEqual(len(failed.samples), 4)

    def test_a_cut_body_reports_the_content_length(self):
        verdict = evaluate(
            Config(), response(body=b"x" * 10, truncated=True, headers=[("Content-Length", " 999 ")])
        )
        self.assertEqual(verdict.samples[3], ("body_size", 999.0, "BYTES"))

    def test_the_status_is_checked_first_then_the_keyword_then_the_json(self):
        config = parse_config('{"keyword": "up", "json_pointer": "/s", "json_equals": "up"}')
        self.assertIn("status 500", evaluate(config, response(500, b"down")).message)
        self.assertIn("does not contain 'up'", evaluate(config, response(200, b"down")).message)
        self.assertIn("not JSON", evaluate(config, response(200, b"up")).message)
        self.assertIn("expected", evaluate(config, response(200, b'{"s": "up!"}')).message)
        self.assertEqual(evaluate(config, response(200, b'{"s": "up"}')).status, "OK")


class NetErrorTest(unittest.TestCase):
    def test_each_case_maps_to_its_status(self):
        cases = [
            ("timeout", None, "TIMEOUT", "no answer within the timeout"),
            ("refused", None, "REFUSED", "the target refused the connection"),
            ("unreachable", "no route", "UNREACHABLE", "the target is unreachable: no route"),
            ("denied", "http is not granted", "ERROR", "denied: http is not granted"),
            ("dns", "nxdomain", "ERROR", "name resolution failed: nxdomain"),
            ("tls", "bad cert", "ERROR", "tls failed: bad cert"),
            ("invalid", "bad url", "ERROR", "invalid request: bad url"),
            ("io", "reset", "ERROR", "i/o error: reset"),
        ]
        for kind, detail, status, message in cases:
            with self.subTest(kind=kind):
                verdict = net_error(kind, detail)
                self.assertEqual((verdict.status, verdict.message), (status, message))
                self.assertEqual(verdict.samples, [])


if __name__ == "__main__":
    unittest.main()

#!/usr/bin/env python3
"""Drives Debian's headless Chromium over the DevTools protocol on a pipe
(--remote-debugging-pipe: JSON messages ending in NUL on fds 3 and 4), with
the standard library only. Used by tests/daemon/dashboard.sh.

    cdp.py CHROMIUM BASE_URL TOKEN OUT_DIR [alarm]

Walks the dashboard as an officer would and prints what it saw as
"key=value" lines for the shell test to check; screenshots go to OUT_DIR.
With "alarm": only logs in and reports the overview's alarm band.
Console errors, exceptions and failed requests are printed as
"error=..." lines."""
import base64
import json
import os
import subprocess
import sys
import tempfile
import threading
import time


class Browser:
    def __init__(self, chromium, workdir):
        to_chrome_r, self._w = os.pipe()
        self._r, from_chrome_w = os.pipe()

        def fds():  # in the child: the pipe's ends on fds 3 and 4
            a, b = os.dup(to_chrome_r), os.dup(from_chrome_w)
            os.dup2(a, 3)
            os.dup2(b, 4)

        self.proc = subprocess.Popen(
            [chromium, "--headless=new", "--no-sandbox", "--disable-gpu",
             "--remote-debugging-pipe", "--no-first-run",
             "--disable-extensions", "--disable-background-networking",
             "--disable-component-update", "--disable-sync",
             "--user-data-dir=" + os.path.join(workdir, "chromium"),
             "--window-size=1366,768", "about:blank"],
            preexec_fn=fds, close_fds=False,
            stdout=subprocess.DEVNULL, stderr=open(os.path.join(workdir, "chromium.log"), "w"))
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._id = 0
        self._replies = {}
        self._cv = threading.Condition()
        self.events = []
        self.errors = []
        self.loads = 0
        threading.Thread(target=self._read, daemon=True).start()
        self.session = None

    def _read(self):
        buf = b""
        while True:
            chunk = os.read(self._r, 1 << 16)
            if not chunk:
                with self._cv:
                    self._cv.notify_all()
                return
            buf += chunk
            while b"\0" in buf:
                raw, buf = buf.split(b"\0", 1)
                msg = json.loads(raw)
                with self._cv:
                    if "id" in msg:
                        self._replies[msg["id"]] = msg
                    else:
                        self._event(msg)
                    self._cv.notify_all()

    def _event(self, msg):
        m, p = msg.get("method"), msg.get("params", {})
        if m == "Page.loadEventFired":
            self.loads += 1
        elif m == "Runtime.exceptionThrown":
            d = p.get("exceptionDetails", {})
            self.errors.append("exception: %s" % d.get("exception", {}).get(
                "description", d.get("text")))
        elif m == "Runtime.consoleAPICalled" and p.get("type") == "error":
            self.errors.append("console: %s" % " ".join(
                str(a.get("value", a.get("description"))) for a in p["args"]))
        elif m == "Log.entryAdded" and p["entry"].get("level") == "error":
            self.errors.append("log: %s %s" % (p["entry"].get("text"),
                                               p["entry"].get("url", "")))
        elif m == "Network.loadingFailed" and not p.get("canceled"):
            self.errors.append("request failed: %s" % p.get("errorText"))
        elif m == "Network.responseReceived":
            r = p["response"]
            if r["status"] >= 400:
                self.errors.append("HTTP %d %s" % (r["status"], r["url"]))

    def call(self, method, params=None, session=True, timeout=20):
        with self._cv:
            self._id += 1
            i = self._id
        msg = {"id": i, "method": method, "params": params or {}}
        if session and self.session:
            msg["sessionId"] = self.session
        os.write(self._w, json.dumps(msg).encode() + b"\0")
        end = time.time() + timeout
        with self._cv:
            while i not in self._replies:
                left = end - time.time()
                if left <= 0:
                    raise RuntimeError("no reply to " + method)
                self._cv.wait(left)
            r = self._replies.pop(i)
        if "error" in r:
            raise RuntimeError("%s: %s" % (method, r["error"]))
        return r.get("result", {})

    def open_page(self):
        t = self.call("Target.createTarget", {"url": "about:blank"}, False)
        a = self.call("Target.attachToTarget",
                      {"targetId": t["targetId"], "flatten": True}, False)
        self.session = a["sessionId"]
        for d in ("Page", "Runtime", "Network", "Log"):
            self.call(d + ".enable")
        self.call("Emulation.setDeviceMetricsOverride",
                  {"width": 1366, "height": 768, "deviceScaleFactor": 1,
                   "mobile": False})

    def js(self, expr):
        r = self.call("Runtime.evaluate", {"expression": expr,
                                           "awaitPromise": True,
                                           "returnByValue": True})
        if "exceptionDetails" in r:
            raise RuntimeError("js: %s" % r["exceptionDetails"].get("text"))
        return r["result"].get("value")

    def wait(self, expr, timeout=10):
        end = time.time() + timeout
        while time.time() < end:
            try:
                if self.js(expr):
                    return True
            except RuntimeError:
                pass
            time.sleep(0.02)
        return False

    def goto(self, url, cond, timeout=10):
        """Loads url afresh (from a blank page: a change of the #fragment
        alone would not reload) and waits for cond; returns the seconds it
        took from the navigation."""
        loads = self.loads
        self.call("Page.navigate", {"url": "about:blank"})
        end = time.time() + timeout
        while self.loads == loads and time.time() < end:
            time.sleep(0.01)
        t0 = time.time()
        self.call("Page.navigate", {"url": url})
        if not self.wait(cond, timeout):
            raise RuntimeError("timed out waiting for %s at %s" % (cond, url))
        return time.time() - t0

    def shot(self, path):
        r = self.call("Page.captureScreenshot", {"format": "png"})
        with open(path, "wb") as f:
            f.write(base64.b64decode(r["data"]))

    def close(self):
        try:
            self.call("Browser.close", session=False, timeout=5)
        except Exception:
            pass
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def say(k, v):
    print("%s=%s" % (k, v), flush=True)


def login(b, base, token):
    b.goto(base + "/", "document.getElementById('token') !== null")
    b.js("document.getElementById('token').value = %s;"
         "document.forms[0].submit(); true" % json.dumps(token))
    if not b.wait("document.querySelector('[data-k=red] .v') !== null", 15):
        raise RuntimeError("the overview did not render after login")


def alarm(b, base, token, out):
    login(b, base, token)
    b.wait("!document.getElementById('alarm').hidden")
    say("alarm_hidden", b.js("document.getElementById('alarm').hidden"))
    say("alarm_text", json.dumps(b.js(
        "document.getElementById('alarm').innerText"), ensure_ascii=False))
    b.shot(os.path.join(out, "alarm.png"))


def main():
    chromium, base, token, out = sys.argv[1:5]
    mode = sys.argv[5] if len(sys.argv) > 5 else "walk"
    work = tempfile.mkdtemp(prefix="fw-cdp.")
    b = Browser(chromium, work)
    try:
        b.open_page()
        if mode == "alarm":
            return alarm(b, base, token, out)
        # the login page, not an error and none of the data
        b.goto(base + "/", "document.getElementById('token') !== null")
        say("login_title", b.js("document.title"))
        say("login_has_data", b.js("document.body.innerText.indexOf('红灯') >= 0"))
        b.shot(os.path.join(out, "login.png"))
        # a wrong token: the form again, with a message (its 401 expected)
        b.js("document.getElementById('token').value = 'wrong-token-000000';"
             "document.forms[0].submit(); true")
        b.wait("document.querySelector('.err') !== null")
        say("wrong_login_message", b.js(
            "(document.querySelector('.err') || {}).textContent"))
        b.errors.clear()
        # the right token: a session cookie, then the overview
        t0 = time.time()
        b.js("document.getElementById('token').value = %s;"
             "document.forms[0].submit(); true" % json.dumps(token))
        if not b.wait("document.querySelector('[data-k=red] .v') !== null", 15):
            raise RuntimeError("the overview did not render after login")
        say("login_to_overview_ms", int((time.time() - t0) * 1000))
        say("cookie_visible_to_js", b.js("document.cookie.indexOf('fw_session') >= 0"))
        # time to first render of the overview, a fresh navigation
        secs = b.goto(base + "/#/", "document.querySelector('[data-k=red] .v') !== null")
        say("overview_render_ms", int(secs * 1000))
        for k in ("red", "yellow", "info", "clawback", "score", "problem"):
            say("card_" + k, b.js(
                "document.querySelector('[data-k=%s] .v').textContent" % k))
        say("card_total", b.js("document.querySelector('[data-k=total]').textContent"))
        say("regions", b.js("document.querySelectorAll('tr[data-k=region]').length"))
        say("units", b.js("document.querySelectorAll('tr[data-k=unit]').length"))
        say("alarm_hidden", b.js("document.getElementById('alarm').hidden"))
        b.shot(os.path.join(out, "overview.png"))
        # the list: red first
        b.goto(base + "/#/list", "document.querySelectorAll('#findings tbody tr').length > 0")
        b.wait("/条/.test(document.getElementById('count').textContent)")
        say("list_levels", b.js(
            "Array.from(document.querySelectorAll('#findings tbody tr'))"
            ".map(function (r) { return r.getAttribute('data-level'); }).join(',')"))
        say("list_count", b.js("document.getElementById('count').textContent"))
        b.shot(os.path.join(out, "list.png"))
        # filtered by region
        b.goto(base + "/#/list?region=500103&state=open",
               "/条|没有/.test(document.getElementById('count').textContent)")
        b.wait("!document.querySelector('.more button').disabled")
        while b.js("!document.querySelector('.more').hidden"):
            b.js("document.querySelector('.more button').click(); true")
            b.wait("!document.querySelector('.more button').disabled")
        say("region_rows", b.js("document.querySelectorAll('#findings tbody tr').length"))
        say("download_href", b.js("document.getElementById('download').getAttribute('href')"))
        # the report of that filter, as the button gets it (the cookie)
        say("report", b.js(
            "fetch(document.getElementById('download').href).then(function (r) {"
            " return r.arrayBuffer().then(function (a) { var u = new Uint8Array(a);"
            " return r.status + ' ' + r.headers.get('content-type') + ' ' + a.byteLength +"
            " ' ' + String.fromCharCode(u[0], u[1]); }); })"))
        # a red finding's page and its evidence
        b.goto(base + "/#/list?lv=red&region=50", "document.querySelectorAll('#findings tbody tr').length > 0")
        b.js("document.querySelector('#findings tbody tr a').click(); true")
        if not b.wait("document.getElementById('evidence') !== null"):
            raise RuntimeError("the finding's page did not render")
        say("finding_hash", b.js("location.hash"))
        say("finding_badge", b.js("document.querySelector('#finding .badge').textContent"))
        say("evidence_text", json.dumps(b.js(
            "document.getElementById('evidence').innerText"), ensure_ascii=False))
        say("ack_placeholder", b.js("document.getElementById('ack') !== null"))
        b.shot(os.path.join(out, "finding.png"))
        b.js("document.getElementById('evidence').scrollIntoView(); true")
        b.shot(os.path.join(out, "evidence.png"))
        # the rules
        b.goto(base + "/#/rules?region=500103", "document.querySelectorAll('section.panel table').length > 0")
        say("rules_panels", b.js("document.querySelectorAll('section.panel').length"))
        say("rules_replaced", b.js("document.querySelectorAll('.replaced').length"))
        b.shot(os.path.join(out, "rules.png"))
        # the weight of what the browser loaded for the app
        say("transfer", b.js(
            "performance.getEntriesByType('navigation').concat(performance.getEntriesByType('resource'))"
            ".filter(function (e) { return e.entryType === 'navigation' || /\\/dash\\//.test(e.name); })"
            ".map(function (e) { return new URL(e.name).pathname + ':' + e.decodedBodySize; }).join(' ')"))
        # logout: the login page again, and the data closed
        b.js("document.querySelector('form.logout').submit(); true")
        b.wait("document.getElementById('token') !== null")
        say("after_logout_login", b.js("document.getElementById('token') !== null"))
        n = len(b.errors)  # the 401 below is the point
        say("after_logout_findings", b.js(
            "fetch('/findings').then(function (r) { return r.status; })"))
        time.sleep(0.2)
        del b.errors[n:]
    except Exception as e:  # reported, then the errors seen so far
        say("fatal", e)
    finally:
        for e in b.errors:
            say("error", e)
        b.close()


if __name__ == "__main__":
    main()

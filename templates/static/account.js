// The 帳號維護 page: a clerk's own change request, made in the browser only. The data key (kept
// by secure.js for this session after login) is wrapped under the new password with PBKDF2 and a
// new salt; the request is signed with the data key (HMAC-SHA256), so the desk knows it came
// from someone who knew the old password. Neither password ever leaves the browser.
(function () {
  "use strict";
  var box = document.getElementById("unlock");
  var form = document.getElementById("account-form");
  if (!box || !form) return;
  var account = box.dataset.account;
  var te = new TextEncoder();
  var errorBox = document.getElementById("account-error");
  function unb64(s) { var b = atob(s), a = new Uint8Array(b.length); for (var i = 0; i < b.length; i++) a[i] = b.charCodeAt(i); return a; }
  function b64(buf) { var a = new Uint8Array(buf), s = ""; for (var i = 0; i < a.length; i++) s += String.fromCharCode(a[i]); return btoa(s); }
  function hex(buf) { return Array.prototype.map.call(new Uint8Array(buf), function (x) { return ("0" + x.toString(16)).slice(-2); }).join(""); }
  function fail(msg) { errorBox.textContent = msg; errorBox.hidden = false; }
  function value(id) { return document.getElementById(id).value.trim(); }

  async function request() {
    var stored = sessionStorage.getItem("deferment-key-" + account);
    if (!stored) throw new Error("請先在上方輸入目前的密碼登入。");
    var raw = unb64(stored);
    var kj = await (await fetch(box.dataset.key, { cache: "no-store" })).json();
    var body = { v: 1, account: account, base: hex(await crypto.subtle.digest("SHA-256", te.encode(kj.wrapped))).slice(0, 32),
                 issued: new Date().toISOString() };
    var pw = document.getElementById("new-password").value, again = document.getElementById("new-password-again").value;
    if (pw || again) {
      if (pw.length < 10) throw new Error("新密碼至少需要 10 個字元。");
      if (pw !== again) throw new Error("兩次輸入的新密碼不同。");
      var salt = crypto.getRandomValues(new Uint8Array(16)), iv = crypto.getRandomValues(new Uint8Array(12));
      var rounds = Number(form.dataset.rounds);   // the desk's own minimum, written into the page
      var base = await crypto.subtle.importKey("raw", te.encode(pw), "PBKDF2", false, ["deriveKey"]);
      var kek = await crypto.subtle.deriveKey({ name: "PBKDF2", hash: "SHA-256", salt: salt, iterations: rounds },
        base, { name: "AES-GCM", length: 256 }, false, ["encrypt"]);
      var sealed = new Uint8Array(await crypto.subtle.encrypt({ name: "AES-GCM", iv: iv, additionalData: te.encode("deferment-key|" + account) }, kek, raw));
      var joined = new Uint8Array(iv.length + sealed.length);
      joined.set(iv, 0); joined.set(sealed, iv.length);
      body.key = { v: 1, account: account, kdf: "PBKDF2-HMAC-SHA256", rounds: rounds, salt: b64(salt), wrapped: b64(joined) };
    }
    ["name", "phone", "email"].forEach(function (f) { var v = value("contact-" + f); if (v) body[f] = v; });
    var notify = document.getElementById("notify").value;
    if (notify) body.notify = notify;
    if (!body.key && !body.name && !body.phone && !body.email && !body.notify) throw new Error("請至少填寫一項要變更的資料。");
    var text = JSON.stringify(body);
    var hmacKey = await crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    var mac = await crypto.subtle.sign("HMAC", hmacKey, te.encode("deferment-account-request|" + text));
    var outer = b64(te.encode(JSON.stringify({ body: text, mac: b64(mac) })));
    return "-----BEGIN DEFERMENT ACCOUNT REQUEST-----\n" + outer.match(/.{1,76}/g).join("\n") + "\n-----END DEFERMENT ACCOUNT REQUEST-----\n";
  }

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    errorBox.hidden = true;
    request().then(function (block) {
      ["new-password", "new-password-again"].forEach(function (id) { document.getElementById(id).value = ""; });
      document.getElementById("account-request-text").value = block;
      var mail = document.getElementById("account-mailto");
      mail.href = "mailto:" + mail.dataset.to + "?subject=" + encodeURIComponent("帳號維護申請 " + account) + "&body=" + encodeURIComponent(block);
      var file = document.getElementById("account-download");
      file.href = URL.createObjectURL(new Blob([block], { type: "text/plain;charset=utf-8" }));
      document.getElementById("account-request").hidden = false;
    }).catch(function (err) { fail(err && err.message ? err.message : "無法產生申請。"); });
  });
})();

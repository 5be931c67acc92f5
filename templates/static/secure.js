// Opens the pages and downloads sealed for one account (AES-256-GCM), in the browser only.
// The account's data key is unwrapped with its password (PBKDF2-HMAC-SHA256, WebCrypto) and kept
// in sessionStorage for this browser session; it never goes to a server or into a URL.
(function () {
  "use strict";
  var box = document.getElementById("unlock");
  if (!box) return;
  var account = box.dataset.account;
  var storeName = "deferment-key-" + account;
  var te = new TextEncoder();
  var form = document.getElementById("unlock-form");
  var input = document.getElementById("unlock-password");
  var status = document.getElementById("unlock-status");
  var errorBox = document.getElementById("unlock-error");
  var logoutBar = document.getElementById("logout-bar");
  var content = document.getElementById("secure-content");

  function unb64(s) { var b = atob(s), a = new Uint8Array(b.length); for (var i = 0; i < b.length; i++) a[i] = b.charCodeAt(i); return a; }
  function b64(buf) { var a = new Uint8Array(buf), s = ""; for (var i = 0; i < a.length; i++) s += String.fromCharCode(a[i]); return btoa(s); }
  function fail(msg) { errorBox.textContent = msg; errorBox.hidden = false; status.textContent = ""; }
  function importDataKey(raw) { return crypto.subtle.importKey("raw", raw, "AES-GCM", false, ["decrypt"]); }

  function storedKey() {
    var s = sessionStorage.getItem(storeName);
    return s ? importDataKey(unb64(s)) : Promise.resolve(null);
  }

  async function unlock(password) {
    var res = await fetch(box.dataset.key, { cache: "no-store" });
    if (!res.ok) throw new Error("nokey");
    var kj = await res.json();
    var base = await crypto.subtle.importKey("raw", te.encode(password), "PBKDF2", false, ["deriveKey"]);
    var kek = await crypto.subtle.deriveKey({ name: "PBKDF2", hash: "SHA-256", salt: unb64(kj.salt), iterations: kj.rounds },
      base, { name: "AES-GCM", length: 256 }, false, ["decrypt"]);
    var w = unb64(kj.wrapped);
    var raw;
    try {
      raw = await crypto.subtle.decrypt({ name: "AES-GCM", iv: w.slice(0, 12), additionalData: te.encode("deferment-key|" + account) }, kek, w.slice(12));
    } catch (e) { throw new Error("wrong"); }
    sessionStorage.setItem(storeName, b64(raw));
    return importDataKey(raw);
  }

  async function openSealed(key, url, sealedPath) {
    var res = await fetch(url, { cache: "no-store" });
    if (!res.ok) throw new Error("missing");
    var buf = new Uint8Array(await res.arrayBuffer());
    var magic = buf.length < 32 ? "" : String.fromCharCode(buf[0], buf[1], buf[2], buf[3]);
    if (magic !== "DEF1" && magic !== "DEF2") throw new Error("tampered");
    // DEF2: the sealed bytes are compressed (raw DEFLATE); the format is authenticated too.
    var deflated = magic === "DEF2";
    var plain = await crypto.subtle.decrypt({ name: "AES-GCM", iv: buf.slice(4, 16),
      additionalData: te.encode((deflated ? "deferment-deflate|" : "deferment|") + account + "|" + sealedPath) }, key, buf.slice(16));
    if (!deflated) return plain;
    return new Response(new Blob([plain]).stream().pipeThrough(new DecompressionStream("deflate-raw"))).arrayBuffer();
  }

  async function show(key) {
    form.hidden = true;
    errorBox.hidden = true;
    logoutBar.hidden = false;
    if (box.dataset.src && content) {
      var html = new TextDecoder().decode(await openSealed(key, box.dataset.src, box.dataset.sealed));
      content.innerHTML = html; // our own escaped markup; scripts in it do not run
      var title = document.getElementById("secure-title");
      if (title) title.hidden = true;
      if (location.hash.length > 1) {
        var target = document.getElementById(decodeURIComponent(location.hash.slice(1)));
        if (target) { target.classList.add("target"); target.scrollIntoView({ block: "center" }); }
      }
    }
  }

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    errorBox.hidden = true;
    status.textContent = "驗證中…";
    unlock(input.value).then(function (key) { input.value = ""; status.textContent = ""; return show(key); })
      .catch(function (err) {
        if (err && err.message === "wrong") fail("密碼錯誤，請再試一次。");
        else fail("無法開啟加密資料，請以 https 或本機網址開啟，或洽系統管理者。");
      });
  });

  document.getElementById("logout").addEventListener("click", function () {
    sessionStorage.removeItem(storeName);
    location.reload();
  });

  // Rows of a CSV as the desk writes it (UTF-8, optional BOM, CRLF, RFC 4180 quoting).
  function csvRows(text) {
    if (text.charCodeAt(0) === 0xFEFF) text = text.slice(1);
    var rows = [], row = [], field = "", quoted = false;
    for (var i = 0; i < text.length; i++) {
      var c = text[i];
      if (quoted) {
        if (c === '"') { if (text[i + 1] === '"') { field += '"'; i++; } else quoted = false; }
        else field += c;
      } else if (c === '"') quoted = true;
      else if (c === ",") { row.push(field); field = ""; }
      else if (c === "\r" && text[i + 1] === "\n") { row.push(field); rows.push(row); row = []; field = ""; i++; }
      else field += c;
    }
    if (field || row.length) { row.push(field); rows.push(row); }
    return rows;
  }

  // 民國 date of an ISO one (2026-11-15 → 115/11/15).
  function roc(iso) {
    var m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(iso);
    return m ? (parseInt(m[1], 10) - 1911) + "/" + m[2] + "/" + m[3] : iso;
  }

  // Search by national ID across the school's rosters: it reads each roster's sealed report
  // CSV (listed by the page), whose row n is row n of that roster's details.
  var searchForm = document.getElementById("id-search");
  if (searchForm) {
    var index = null;
    var out = document.getElementById("search-results");
    searchForm.addEventListener("submit", async function (e) {
      e.preventDefault();
      var id = (document.getElementById("id-input").value || "").replace(/[\s\u3000]/g, "").toUpperCase();
      out.textContent = "";
      var key = await storedKey();
      if (!key) { out.textContent = "請先輸入密碼登入後再查詢。"; return; }
      try {
        if (!index) {
          var pieces = (box.dataset.index || "").split(/\s+/).filter(Boolean);
          var opened = await Promise.all(pieces.map(function (sealed) {
            return openSealed(key, sealed.slice(sealed.lastIndexOf("/") + 1), sealed);
          }));
          index = [];
          opened.forEach(function (data, i) {
            // The details page is named by the piece's own date (report-YYYYMMDD.csv.enc).
            var day = /report-(\d{8})\.csv\.enc$/.exec(pieces[i]);
            if (!day) return;
            var rows = csvRows(new TextDecoder().decode(data)), head = rows[0] || [];
            var col = function (name) { return head.indexOf(name); };
            var at = { id: col("身分證字號"), date: col("上傳日期"), kind: col("名冊類別"), state: col("審核狀態"), county: col("分派縣市") };
            rows.slice(1).forEach(function (r, k) {
              index.push({ id: r[at.id], date: roc(r[at.date] || ""), kind: r[at.kind], state: r[at.state], county: r[at.county],
                           href: "roster-" + day[1] + ".html#row-" + (k + 1) });
            });
          });
        }
      } catch (err) { out.textContent = "無法開啟查詢資料。"; return; }
      var matches = index.filter(function (m) { return m.id === id; });
      if (!id) return;
      if (!matches.length) { out.textContent = "查無身分證字號 " + id + " 的名冊資料。"; return; }
      var p = document.createElement("p");
      p.textContent = "身分證字號 " + id + " 共 " + matches.length + " 筆：";
      out.appendChild(p);
      var ul = document.createElement("ul");
      matches.forEach(function (m) {
        var li = document.createElement("li"), a = document.createElement("a");
        a.href = m.href;
        a.textContent = m.date + " " + m.kind + "：" + m.state + (m.county ? "（" + m.county + "）" : "");
        li.appendChild(a);
        ul.appendChild(li);
      });
      out.appendChild(ul);
    });
  }

  function save(parts, name, type) {
    var url = URL.createObjectURL(new Blob(parts, { type: type }));
    var link = document.createElement("a");
    link.href = url;
    link.download = name;
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(function () { URL.revokeObjectURL(url); }, 10000);
  }

  // Sealed downloads: opened here and saved under their real names.
  Array.prototype.forEach.call(document.querySelectorAll("a[data-enc]"), function (a) {
    a.addEventListener("click", async function (e) {
      e.preventDefault();
      var key = await storedKey();
      if (!key) { fail("請先輸入密碼登入後再下載報表。"); return; }
      try {
        save([await openSealed(key, a.dataset.enc, a.dataset.sealed)], a.dataset.name, a.dataset.type);
      } catch (err) { fail("報表無法解密，請重新登入。"); }
    });
  });

  // Every roster's report CSV joined into one file: the first piece whole, then each further
  // piece without its BOM and header line (CSV pieces are UTF-8 with BOM and CRLF lines).
  var all = document.getElementById("all-reports");
  if (all) {
    all.addEventListener("click", async function (e) {
      e.preventDefault();
      var key = await storedKey();
      if (!key) { fail("請先輸入密碼登入後再下載報表。"); return; }
      try {
        var pieces = all.dataset.pieces.split(/\s+/).filter(Boolean);
        var opened = await Promise.all(pieces.map(function (sealed) {
          return openSealed(key, sealed.slice(sealed.lastIndexOf("/") + 1), sealed);
        }));
        var parts = opened.map(function (data, i) {
          var bytes = new Uint8Array(data);
          if (i === 0) return bytes;
          for (var j = 0; j + 1 < bytes.length; j++) {
            if (bytes[j] === 13 && bytes[j + 1] === 10) return bytes.subarray(j + 2);
          }
          return new Uint8Array(0);
        });
        save(parts, all.dataset.name, "text/csv;charset=utf-8");
      } catch (err) { fail("報表無法解密，請重新登入。"); }
    });
  }

  storedKey().then(function (key) { return key ? show(key) : null; }).catch(function () { sessionStorage.removeItem(storeName); });
})();

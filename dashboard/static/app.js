// AffectWatch dashboard: confirmations, swatches, and the live alert feed (poll, banner, optional sound).
"use strict";

(function () {
  const csrfToken = () => document.querySelector('meta[name="csrf-token"]').content;

  function confirmForms() {
    document.querySelectorAll("form[data-confirm]").forEach((form) => {
      form.addEventListener("submit", (event) => {
        if (!window.confirm(form.dataset.confirm)) event.preventDefault();
      });
    });
  }

  function paintSwatches() {
    document.querySelectorAll("[data-colour]").forEach((el) => { el.style.background = el.dataset.colour; });
  }

  // A short two-tone chime made with the Web Audio API (no sound file to fetch).
  function chime() {
    const Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) return;
    const ctx = new Ctx();
    [880, 660].forEach((freq, i) => {
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      osc.frequency.value = freq;
      gain.gain.setValueAtTime(0.2, ctx.currentTime + i * 0.25);
      gain.gain.exponentialRampToValueAtTime(0.001, ctx.currentTime + i * 0.25 + 0.22);
      osc.connect(gain).connect(ctx.destination);
      osc.start(ctx.currentTime + i * 0.25);
      osc.stop(ctx.currentTime + i * 0.25 + 0.25);
    });
  }

  function soundToggle() {
    const box = document.getElementById("alert-sound");
    if (!box) return () => false;
    box.checked = window.localStorage.getItem("affectwatch.sound") === "on";
    box.addEventListener("change", () => {
      window.localStorage.setItem("affectwatch.sound", box.checked ? "on" : "off");
      if (box.checked) chime();
    });
    return () => box.checked;
  }

  function showBanner(alerts, pageUrl) {
    const banner = document.getElementById("alert-banner");
    banner.replaceChildren();
    const text = document.createElement("span");
    const first = alerts[0];
    text.textContent = alerts.length === 1
      ? "New alert: " + first.summary
      : alerts.length + " new alerts, latest: " + first.summary;
    const link = document.createElement("a");
    link.href = pageUrl;
    link.textContent = "Open alerts";
    link.className = "button small";
    const close = document.createElement("button");
    close.type = "button";
    close.className = "button small ghost";
    close.textContent = "Dismiss";
    close.addEventListener("click", () => { banner.hidden = true; document.title = document.title.replace(/^\(!\) /, ""); });
    banner.append(text, link, close);
    banner.hidden = false;
    banner.classList.remove("flash-in");
    void banner.offsetWidth;
    banner.classList.add("flash-in");
    if (!document.title.startsWith("(!) ")) document.title = "(!) " + document.title;
  }

  function showCount(n) {
    const badge = document.getElementById("open-alerts-count");
    if (!badge) return;
    badge.textContent = String(n);
    badge.hidden = n === 0;
  }

  function alertFeed() {
    const body = document.body;
    const feed = body.dataset.alertsFeed;
    if (!feed) return;
    const every = Math.max(1, parseFloat(body.dataset.pollSeconds || "10")) * 1000;
    const soundOn = soundToggle();
    let after = null;
    async function poll() {
      try {
        const url = after === null ? feed : feed + "?after=" + encodeURIComponent(after);
        const res = await fetch(url, { headers: { "X-AffectWatch-Poll": "1", Accept: "application/json" }, credentials: "same-origin" });
        if (res.status === 401) { window.location.reload(); return; }
        if (!res.ok) return;
        const data = await res.json();
        showCount(data.open_count);
        if (after !== null && data.alerts.length) {
          showBanner(data.alerts, body.dataset.alertsPage);
          if (soundOn()) chime();
          document.dispatchEvent(new CustomEvent("affectwatch:alerts", { detail: data.alerts }));
        }
        after = data.last_id;
      } catch (err) {
        console.warn("alert feed:", err);
      }
    }
    poll();
    window.setInterval(poll, every);
  }

  window.AffectWatch = { csrfToken, chime };
  document.addEventListener("DOMContentLoaded", () => { confirmForms(); paintSwatches(); alertFeed(); });
})();

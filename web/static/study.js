// The study player: plays the chapter's clip (looped when the chapter is longer), counts the time
// actually played, reports it in heartbeats, and obeys the server: it is put back after a refused
// seek, pauses for a captcha, and leaves the page when the server ends the session. A hidden page
// pauses (the server credits nothing while hidden); closing the page sends a last heartbeat; a
// session opened on another tab or device stops this one.
(() => {
  const root = document.getElementById("player");
  if (!root) return;
  const cfg = {
    eid: root.dataset.enrollmentId,
    chapterId: Number(root.dataset.chapterId),
    duration: Number(root.dataset.duration),
    heartbeatMs: Math.max(1, Number(root.dataset.heartbeatSeconds)) * 1000,
    review: root.dataset.review === "true",
    csrf: root.dataset.csrf,
    toc: root.dataset.tocUrl,
  };
  const $ = (id) => document.getElementById(id);
  const video = $("video"), playBtn = $("play-btn"), bar = $("chapter-bar"), posText = $("pos-text");
  const statusLine = $("player-status"), doneBox = $("chapter-done");
  const dlg = $("captcha-dialog"), img = $("captcha-img"), input = $("captcha-input");
  const errLine = $("captcha-error"), countdown = $("captcha-countdown");

  let pos = Number(root.dataset.position) || 0; // seconds into the chapter, as we will claim it
  let sessionId = null;
  let lastT = null; // the clip's currentTime at the previous timeupdate
  let checkAt = null; // chapter position at which the next captcha is due
  let inFlight = false, again = false, lastEndBeat = 0, over = false, captchaTimer = null;

  const fmt = (s) => `${Math.floor(s / 60)}:${String(Math.floor(s % 60)).padStart(2, "0")}`;
  const say = (text) => { statusLine.textContent = text; };
  const render = () => {
    bar.style.width = `${Math.min(100, (pos * 100) / cfg.duration)}%`;
    posText.textContent = fmt(pos);
  };
  let ownSeek = false; // a seek the player makes itself (putting the clip at the credited position)
  const syncVideo = () => {
    ownSeek = true;
    if (video.duration) video.currentTime = pos % video.duration;
    lastT = video.currentTime;
  };
  const pause = (why) => {
    video.pause();
    playBtn.textContent = "播放";
    if (why && !over && !dlg.open) say(why);
  };
  const play = () => {
    if (!over && !dlg.open) {
      lastT = video.currentTime;
      video.play().then(() => { playBtn.textContent = "暂停"; say("正在学习"); })
        .catch(() => say("视频无法播放，请刷新页面重试"));
    }
  };

  async function post(url, body) {
    try {
      const r = await fetch(url, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": cfg.csrf },
        body: JSON.stringify(body),
      });
      let data = {};
      try { data = await r.json(); } catch (e) { /* not JSON */ }
      return { ok: r.ok, status: r.status, data };
    } catch (e) {
      return { ok: false, status: 0, data: { message: "网络异常，正在重试…" } };
    }
  }

  function leave(data) {
    over = true;
    pause();
    if (dlg.open) dlg.close();
    say(data.message || "学习会话已结束");
    playBtn.disabled = true;
    // taken over by another tab or device: this page stays and says so
    if (data.code === "SessionReplaced") { root.dataset.replaced = "true"; return; }
    window.location.href = data.redirect || cfg.toc;
  }

  function refused(data) {
    if (data.ended) { leave(data); return; }
    if (data.code === "SeekNotAllowed" && typeof data.position === "number") {
      pos = data.position; // put back where the credit is
      syncVideo();
      render();
    }
    if (data.message) say(data.message);
  }

  function apply(view, sent) {
    // keep what was played while the request was on its way; drop what the server did not credit
    pos = sent === null ? view.position : Math.max(0, pos + (view.position - sent));
    checkAt = typeof view.check_in === "number" ? view.position + view.check_in : null;
    render();
    if (view.chapter_done) { chapterDone(view); return; }
    if (view.captcha_serial !== null && view.captcha_serial !== undefined) showCaptcha(view);
  }

  async function beat() {
    if (!sessionId || over) return;
    if (inFlight) { again = true; return; }
    inFlight = true;
    const sent = pos;
    const r = await post(`/study/${cfg.eid}/heartbeat`,
      { session_id: sessionId, chapter_id: cfg.chapterId, position: sent, hidden: document.hidden });
    inFlight = false;
    if (r.ok) apply(r.data, sent);
    else if (r.status === 0) say(r.data.message);
    else refused(r.data);
    if (again) { again = false; beat(); }
  }

  function chapterDone(view) {
    over = true;
    pause();
    playBtn.disabled = true;
    pos = cfg.duration;
    render();
    doneBox.hidden = false;
    if (view.course_done) {
      $("done-text").textContent = "恭喜，本课程已全部学完！学习证明将出具到“证明档案”，学时将记录为平台推送学时。";
      const next = $("next-chapter");
      if (next) next.hidden = true;
      say("课程已全部学完");
      return;
    }
    say("本章节已学完");
  }

  function showCaptcha(view) {
    pause();
    playBtn.disabled = true;
    img.src = `/study/${cfg.eid}/captcha.png?serial=${view.captcha_serial}`;
    input.value = "";
    if (!dlg.open) dlg.showModal();
    input.focus();
    say("请输入验证码");
    startCountdown(view.captcha_expires_in);
  }

  function startCountdown(seconds) {
    clearInterval(captchaTimer);
    const until = Date.now() + (Number(seconds) || 0) * 1000;
    const tick = () => {
      const left = Math.max(0, Math.ceil((until - Date.now()) / 1000));
      countdown.textContent = `（剩余 ${left} 秒）`;
      if (left <= 0) beat(); // the server ends the session: this heartbeat learns it and we leave
    };
    tick();
    captchaTimer = setInterval(tick, 1000);
  }

  dlg.addEventListener("cancel", (ev) => ev.preventDefault()); // Esc does not dismiss the check
  $("captcha-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const r = await post(`/study/${cfg.eid}/captcha`, { session_id: sessionId, answer: input.value });
    if (r.ok) {
      clearInterval(captchaTimer);
      errLine.hidden = true;
      dlg.close();
      playBtn.disabled = false;
      apply(r.data, null);
      syncVideo();
      say("验证通过，继续学习");
      play();
    } else if (r.status === 422 && r.data.captcha_serial) {
      errLine.textContent = r.data.message;
      errLine.hidden = false;
      img.src = `/study/${cfg.eid}/captcha.png?serial=${r.data.captcha_serial}`;
      input.value = "";
      input.focus();
      startCountdown(r.data.captcha_expires_in);
    } else {
      refused(r.data);
    }
  });

  video.addEventListener("timeupdate", () => {
    const t = video.currentTime;
    if (lastT !== null && !video.paused && !cfg.review) {
      let d = t - lastT;
      if (d < 0 && video.duration) d += video.duration; // the clip looped
      if (d > 0 && d < 2) pos = Math.min(cfg.duration, pos + d);
    }
    lastT = t;
    render();
    if (cfg.review || over) return;
    if (pos >= cfg.duration && Date.now() - lastEndBeat > 1000) { lastEndBeat = Date.now(); beat(); }
    else if (checkAt !== null && pos >= checkAt) { checkAt = null; beat(); }
  });
  video.addEventListener("loadedmetadata", () => { syncVideo(); });
  // A seek by any other means (keyboard, media keys, a script): put the clip back and say why. The
  // clip's own loop jumps from its end to its start, which is not a seek.
  video.addEventListener("seeking", () => {
    if (ownSeek) { ownSeek = false; return; }
    const looped = video.duration && lastT !== null && lastT > video.duration - 1 && video.currentTime < 1;
    if (cfg.review || looped || lastT === null) return;
    ownSeek = true;
    video.currentTime = lastT;
    say("学习过程中视频不可拖动播放");
  });
  video.addEventListener("error", () => say("视频加载失败，请刷新页面重试"));
  // No seeking: the clip has no controls, jumps of the clip are not counted (d < 2 above) and the
  // server refuses a claimed position the clock does not allow.

  playBtn.addEventListener("click", () => { if (video.paused) play(); else pause("已暂停"); });

  // Presence: a hidden page pauses at once and tells the server, which credits nothing meanwhile.
  document.addEventListener("visibilitychange", () => {
    if (cfg.review || over || !sessionId) return;
    if (document.hidden) pause("已暂停：页面不在前台时暂停播放，回到本页后点击“播放”继续学习");
    beat();
  });
  // Closing the page: its last heartbeat counts and the session ends now, not after the idle time.
  window.addEventListener("pagehide", () => {
    if (cfg.review || over || !sessionId) return;
    fetch(`/study/${cfg.eid}/heartbeat`, {
      method: "POST", credentials: "same-origin", keepalive: true,
      headers: { "Content-Type": "application/json", "X-CSRF-Token": cfg.csrf },
      body: JSON.stringify({ session_id: sessionId, chapter_id: cfg.chapterId, position: pos, hidden: true, closing: true }),
    });
  });

  if (cfg.review) {
    playBtn.disabled = false;
    return;
  }
  (async () => {
    const r = await post(`/study/${cfg.eid}/chapters/${cfg.chapterId}/open`, {});
    if (!r.ok) { refused(r.data.ended === undefined ? { ...r.data, ended: true } : r.data); return; }
    sessionId = r.data.session_id;
    playBtn.disabled = false;
    say("已暂停：点击“播放”开始学习；学习过程中视频不可拖动播放");
    apply(r.data, null);
    syncVideo();
    setInterval(beat, cfg.heartbeatMs);
  })();
})();

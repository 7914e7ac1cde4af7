// Playback of the version on screen through one <audio> element; reports the position every frame while playing
// so the playhead follows.

export class Player {
  constructor(audio, { onTime, onStateChange, onError }) {
    this.audio = audio;
    this.onTime = onTime;
    this.onStateChange = onStateChange;
    this.frame = 0;
    audio.addEventListener("error", () => {
      if (audio.getAttribute("src")) onError(new Error("The audio of this version could not be loaded."));
    });
    audio.addEventListener("play", () => {
      this.onStateChange(true);
      this.follow();
    });
    audio.addEventListener("pause", () => this.stopFollowing());
    audio.addEventListener("ended", () => this.stopFollowing());
    audio.addEventListener("seeked", () => this.onTime(audio.currentTime, !audio.paused));
  }

  load(url) {
    this.audio.pause();
    this.audio.src = url;
    this.audio.load();
  }

  get playing() {
    return !this.audio.paused;
  }

  get currentTime() {
    return this.audio.currentTime;
  }

  async toggle() {
    if (this.audio.paused) {
      await this.audio.play();
    } else {
      this.audio.pause();
    }
  }

  pause() {
    this.audio.pause();
  }

  seek(seconds) {
    this.audio.currentTime = seconds;
    this.onTime(seconds, this.playing);
  }

  follow() {
    cancelAnimationFrame(this.frame);
    const step = () => {
      this.onTime(this.audio.currentTime, true);
      if (!this.audio.paused) this.frame = requestAnimationFrame(step);
    };
    this.frame = requestAnimationFrame(step);
  }

  stopFollowing() {
    cancelAnimationFrame(this.frame);
    this.onTime(this.audio.currentTime, false);
    this.onStateChange(false);
  }
}

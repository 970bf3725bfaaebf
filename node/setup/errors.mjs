// A setup failure a person can act on: what is wrong, and the command or change that fixes it.
export class SetupError extends Error {
  /**
   * @param {string} message what is wrong (name the file, package or binary)
   * @param {string} fix what to do about it
   * @param {{cause?: unknown}} [options]
   */
  constructor(message, fix, options) {
    super(`${message}\n  fix: ${fix}`, options);
    this.name = "SetupError";
    this.fix = fix;
  }
}

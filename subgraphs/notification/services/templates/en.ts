import type { Strings } from "./types";

/** English: the default every other locale falls back to. */
export const en: Strings = {
  welcome: {
    subject: "Welcome to ORION",
    greeting: (displayName) => `Hi ${displayName}, your account is ready.`,
  },
  tokenLink: {
    expiry: (expiresAt) => `The link works once and expires at ${new Date(expiresAt).toUTCString()}.`,
    ignore: "If you did not ask for this, ignore this e-mail.",
  },
  "verify-email": {
    subject: "Confirm your e-mail address",
    intro: "Confirm that this address belongs to your ORION account.",
  },
  "password-reset": {
    subject: "Reset your ORION password",
    intro: "Someone asked to reset the password of your ORION account.",
  },
  "new-device": {
    subject: "New sign-in to your ORION account",
    signIn: (device) => `Your account was signed in to from a device not seen before (${device}).`,
    unknownDevice: "unknown device",
    advice: "If this was you, there is nothing to do. If not, change your password and sign out everywhere.",
  },
  "password-changed": {
    subject: "Your ORION password was changed",
    changed: "Your password was changed and your other sessions were signed out.",
    reset: "Your password was reset and every session was signed out.",
    advice: "If this was not you, reset your password now and contact support.",
  },
  marketing: {
    why: "You receive this because you opted in to news from ORION.",
    turnOff: "Turn it off in your preferences",
    turnOffAt: (preferencesUrl) => `Turn it off in your preferences: ${preferencesUrl}`,
  },
};

import type { Strings } from "./types";

const DATE = new Intl.DateTimeFormat("fr-FR", { dateStyle: "long", timeStyle: "short", timeZone: "UTC" });

/** French. */
export const fr: Strings = {
  welcome: {
    subject: "Bienvenue sur ORION",
    greeting: (displayName) => `Bonjour ${displayName}, votre compte est prêt.`,
  },
  tokenLink: {
    expiry: (expiresAt) =>
      `Le lien ne fonctionne qu’une fois et expire le ${DATE.format(new Date(expiresAt))} (UTC).`,
    ignore: "Si vous n’êtes pas à l’origine de cette demande, ignorez cet e-mail.",
  },
  "verify-email": {
    subject: "Confirmez votre adresse e-mail",
    intro: "Confirmez que cette adresse appartient à votre compte ORION.",
  },
  "password-reset": {
    subject: "Réinitialisez votre mot de passe ORION",
    intro: "Une demande de réinitialisation du mot de passe de votre compte ORION a été faite.",
  },
  "new-device": {
    subject: "Nouvelle connexion à votre compte ORION",
    signIn: (device) => `Une connexion à votre compte a eu lieu depuis un appareil inconnu (${device}).`,
    unknownDevice: "appareil inconnu",
    advice:
      "Si c’était vous, il n’y a rien à faire. Sinon, changez votre mot de passe et déconnectez toutes les sessions.",
  },
  "password-changed": {
    subject: "Le mot de passe de votre compte ORION a été changé",
    changed: "Votre mot de passe a été changé et vos autres sessions ont été fermées.",
    reset: "Votre mot de passe a été réinitialisé et toutes les sessions ont été fermées.",
    advice: "Si ce n’était pas vous, réinitialisez votre mot de passe maintenant et contactez le support.",
  },
  marketing: {
    why: "Vous recevez ce message car vous avez accepté les actualités d'ORION.",
    turnOff: "Désactivez-les dans vos préférences",
    turnOffAt: (preferencesUrl) => `Désactivez-les dans vos préférences : ${preferencesUrl}`,
  },
};

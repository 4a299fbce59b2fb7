import { markup, paragraphs } from "./safe-html";
import type { Catalogue } from "./types";

const DATE = new Intl.DateTimeFormat("fr-FR", { dateStyle: "long", timeStyle: "short", timeZone: "UTC" });

const expiry = (expiresAt: string) =>
  `Le lien ne fonctionne qu’une fois et expire le ${DATE.format(new Date(expiresAt))} (UTC).`;
const ignore = "Si vous n’êtes pas à l’origine de cette demande, ignorez cet e-mail.";

/** French. */
export const fr: Catalogue = {
  welcome: ({ displayName }) => {
    const body = `Bonjour ${displayName}, votre compte est prêt.`;
    return {
      subject: "Bienvenue sur ORION",
      body,
      text: body,
      html: markup`<p>Bonjour ${displayName}, votre compte est prêt.</p>`,
    };
  },

  "verify-email": (vars, { tokenLink }) => {
    const subject = "Confirmez votre adresse e-mail";
    const intro = "Confirmez que cette adresse appartient à votre compte ORION.";
    const link = tokenLink(vars, "verify-email").toString();
    return {
      subject,
      body: `${intro} ${expiry(vars.expiresAt)}`,
      text: `${intro}\n\n${link}\n\n${expiry(vars.expiresAt)}\n${ignore}`,
      html: markup`<p>${intro}</p><p><a href="${link}">${subject}</a></p><p>${expiry(vars.expiresAt)}<br>${ignore}</p>`,
    };
  },

  "password-reset": (vars, { tokenLink }) => {
    const subject = "Réinitialisez votre mot de passe ORION";
    const intro = "Une demande de réinitialisation du mot de passe de votre compte ORION a été faite.";
    const link = tokenLink(vars, "reset-password").toString();
    return {
      subject,
      body: `${intro} ${expiry(vars.expiresAt)}`,
      text: `${intro}\n\n${link}\n\n${expiry(vars.expiresAt)}\n${ignore}`,
      html: markup`<p>${intro}</p><p><a href="${link}">${subject}</a></p><p>${expiry(vars.expiresAt)}<br>${ignore}</p>`,
    };
  },

  "new-device": ({ userAgent, ipAddress }) => {
    const body = `Une connexion à votre compte a eu lieu depuis un appareil inconnu (${userAgent ?? "appareil inconnu"}${ipAddress ? `, ${ipAddress}` : ""}).`;
    const advice =
      "Si c’était vous, il n’y a rien à faire. Sinon, changez votre mot de passe et déconnectez toutes les sessions.";
    return {
      subject: "Nouvelle connexion à votre compte ORION",
      body,
      text: `${body}\n\n${advice}`,
      html: markup`<p>${body}</p><p>${advice}</p>`,
    };
  },

  "password-changed": ({ reason }) => {
    const body =
      reason === "reset"
        ? "Votre mot de passe a été réinitialisé et toutes les sessions ont été fermées."
        : "Votre mot de passe a été changé et vos autres sessions ont été fermées.";
    const advice =
      "Si ce n’était pas vous, réinitialisez votre mot de passe maintenant et contactez le support.";
    return {
      subject: "Le mot de passe de votre compte ORION a été changé",
      body,
      text: `${body}\n\n${advice}`,
      html: markup`<p>${body}</p><p>${advice}</p>`,
    };
  },

  "admin-message": ({ title, body }) => ({
    subject: title,
    body,
    text: body,
    html: paragraphs(body),
  }),
  marketing: ({ title, body, preferencesUrl }) => ({
    subject: title,
    body,
    text: `${body}\n\n--\nVous recevez ce message car vous avez accepté les actualités d'ORION.\nDésactivez-les dans vos préférences : ${preferencesUrl}`,
    html: markup`${paragraphs(body)}<hr><p>Vous recevez ce message car vous avez accepté les actualités d'ORION.<br><a href="${preferencesUrl}">Désactivez-les dans vos préférences</a></p>`,
  }),
};

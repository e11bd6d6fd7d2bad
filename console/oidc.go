package console

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/gin-gonic/gin"
	"github.com/supplywatch/supplywatch/procure"
	"golang.org/x/oauth2"
)

const oidcCookie = "sw_oidc"

// oidcClient discovers the provider on first use (the provider may be
// unreachable when the console starts) and keeps it once found.
type oidcClient struct {
	cfg OIDCConfig

	mu       sync.Mutex
	provider *oidc.Provider
}

func (o *oidcClient) get(ctx context.Context) (*oidc.Provider, *oauth2.Config, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.provider == nil {
		dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		p, err := oidc.NewProvider(dctx, o.cfg.Issuer)
		if err != nil {
			return nil, nil, procure.Errorf(procure.EINTERNAL, "OIDC provider %s: %v", o.cfg.Issuer, err)
		}
		o.provider = p
	}
	oc := &oauth2.Config{ClientID: o.cfg.ClientID, ClientSecret: o.cfg.ClientSecret, RedirectURL: o.cfg.RedirectURL,
		Endpoint: o.provider.Endpoint(), Scopes: o.cfg.Scopes}
	return o.provider, oc, nil
}

// oidcLogin redirects to the provider with a fresh state, nonce and PKCE
// verifier, kept in a short-lived HttpOnly cookie for the callback.
func (h *authHandlers) oidcLogin(g *gin.Context) {
	if h.oidc == nil {
		h.fail(g, procure.Errorf(procure.ENOTFOUND, "%v", errNoOIDC))
		return
	}
	_, oc, err := h.oidc.get(g.Request.Context())
	if err != nil {
		h.fail(g, err)
		return
	}
	state, nonce, verifier := randomSecret(24), randomSecret(24), oauth2.GenerateVerifier()
	http.SetCookie(g.Writer, &http.Cookie{Name: oidcCookie, Value: state + "." + nonce + "." + verifier, Path: "/api/auth/oidc/",
		MaxAge: 600, HttpOnly: true, Secure: h.secureCookies(g), SameSite: http.SameSiteLaxMode})
	g.Redirect(http.StatusFound, oc.AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)))
}

// oidcCallback exchanges the code, verifies the ID token and its nonce,
// and signs in the console user with the verified email.
func (h *authHandlers) oidcCallback(g *gin.Context) {
	if h.oidc == nil {
		h.fail(g, procure.Errorf(procure.ENOTFOUND, "%v", errNoOIDC))
		return
	}
	ctx := g.Request.Context()
	ck, _ := g.Cookie(oidcCookie)
	parts := strings.Split(ck, ".")
	if len(parts) != 3 || !constantEqual(parts[0], g.Query("state")) {
		h.fail(g, procure.Errorf(procure.EUNAUTHORIZED, "sign-in expired or was started elsewhere: start again"))
		return
	}
	http.SetCookie(g.Writer, &http.Cookie{Name: oidcCookie, Value: "", Path: "/api/auth/oidc/", MaxAge: -1, HttpOnly: true})
	if e := g.Query("error"); e != "" {
		h.fail(g, procure.Errorf(procure.EUNAUTHORIZED, "the provider refused the sign-in: %s", e))
		return
	}
	p, oc, err := h.oidc.get(ctx)
	if err != nil {
		h.fail(g, err)
		return
	}
	tok, err := oc.Exchange(ctx, g.Query("code"), oauth2.VerifierOption(parts[2]))
	if err != nil {
		h.fail(g, procure.Errorf(procure.EUNAUTHORIZED, "code exchange failed: %v", err))
		return
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := p.Verifier(&oidc.Config{ClientID: h.cfg.OIDC.ClientID}).Verify(ctx, raw)
	if err != nil || !constantEqual(idt.Nonce, parts[1]) {
		h.fail(g, procure.Errorf(procure.EUNAUTHORIZED, "the ID token did not verify"))
		return
	}
	var claims struct {
		Email         string `json:"email"`
		EmailVerified *bool  `json:"email_verified"`
	}
	if err := idt.Claims(&claims); err != nil || !emailVerified(claims.Email, claims.EmailVerified) {
		h.fail(g, procure.Errorf(procure.EFORBIDDEN, "the provider gave no verified email"))
		return
	}
	u, err := h.store.FindUserByEmail(ctx, claims.Email)
	if err != nil || u.Disabled {
		h.auditAnonymous(g, "auth.sign_in_failed", "email/"+claims.Email)
		h.fail(g, procure.Errorf(procure.EFORBIDDEN, "no console user has the email %s: ask an administrator", claims.Email))
		return
	}
	if _, err := h.startSession(g, u, "oidc"); err != nil {
		h.fail(g, err)
		return
	}
	g.Redirect(http.StatusFound, "/")
}

// emailVerified reports whether an ID token vouches for its email: only an
// email_verified claim that is present and true does (a provider that does
// not say has not verified it).
func emailVerified(email string, verified *bool) bool {
	return email != "" && verified != nil && *verified
}

"""The companion Remote Script shipped with liveloom (installed into Live by
`liveloom install-remote-script`)."""

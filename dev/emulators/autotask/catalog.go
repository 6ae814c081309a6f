package autotask

// Helpers for tests and the dev stack that seed rows the way a person sets them up in
// Autotask's UI (an inactive company, a contract set inactive), for the look-ups the
// mapping page uses.

// AddCompanyWith adds a company as given (id assigned when 0, type Customer when 0) and
// returns its id. Unlike AddCompany it keeps IsActive and CompanyNumber as given.
func (s *Server) AddCompanyWith(c Company) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	c.ID = s.idFor(c.ID)
	if c.CompanyType == 0 {
		c.CompanyType = 1
	}
	if c.CreateDate.IsZero() {
		c.CreateDate = Time{s.now().UTC()}
	}
	s.companies[c.ID] = &c
	return c.ID
}

// SetContractStatus sets a contract's status picklist value (1 active, 0 inactive), as
// a person setting a contract inactive does; it reports whether the contract exists.
func (s *Server) SetContractStatus(id int64, status int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := s.contracts[id]
	if k == nil {
		return false
	}
	k.Status = status
	return true
}

package connectwise

import "strings"

// kind is how a field's value is typed on the wire, which decides how writes are coerced
// and how conditions compare it.
type kind int

const (
	kString kind = iota
	kInt
	kNumber // a double in the API's spec; see coerceNumber
	kBool
	kTime
	kRef    // {id, identifier|name} pointing at another record
	kObject // opaque object
	kArray  // opaque array (customFields, types, questions): not usable in conditions
)

// field describes one field of a resource.
type field struct {
	kind     kind
	max      int    // strings: maximum length (0: unchecked)
	ref      string // kRef: the collection the reference resolves against ("": kept as sent)
	readOnly bool   // writes to it are ignored
}

// Collection names, also the keys of the /_emulator/state dump.
const (
	Companies                  = "company/companies"
	AgreementTypes             = "finance/agreements/types"
	Agreements                 = "finance/agreements"
	Additions                  = "finance/agreements/additions"
	CatalogItems               = "procurement/catalog"
	Configurations             = "company/configurations"
	ConfigurationTypes         = "company/configurations/types"
	ConfigurationTypeQuestions = "company/configurations/types/questions"
	ManagementItSolutions      = "company/managementItSolutions"
	ManagedDevicesIntegrations = "company/managedDevicesIntegrations"
	CrossReferences            = "company/managedDevicesIntegrations/crossReferences"
	ManagementBackups          = "company/managementBackups"
)

// resource is one collection of the API: its URL, fields and rules.
type resource struct {
	name        string // collection name (one of the constants above)
	path        string // URL path under apis/3.0, "{parentId}" for child collections
	object      string // the name errors use: "company", "addition", ...
	parent      string // parent collection of a child collection
	parentField string // field that mirrors the parent id ("" when none)
	fields      map[string]field
	required    []string
	unique      string // field whose value must be unique (case-insensitive)
	// validate adds the resource's own rules; old is nil on create.
	validate func(s *Server, d, old, parent doc) []FieldError
	// derive fills computed fields after a write.
	derive func(s *Server, d, parent doc)
}

// lookup finds a field case-insensitively (the API binds names that way) and returns its
// canonical name.
func (r *resource) lookup(name string) (string, field, bool) {
	if f, ok := r.fields[name]; ok {
		return name, f, true
	}
	for n, f := range r.fields {
		if strings.EqualFold(n, name) {
			return n, f, true
		}
	}
	return "", field{}, false
}

func str(max int) field           { return field{kind: kString, max: max} }
func ref(collection string) field { return field{kind: kRef, ref: collection} }

var (
	fInt    = field{kind: kInt}
	fNumber = field{kind: kNumber}
	fBool   = field{kind: kBool}
	fTime   = field{kind: kTime}
	fRef    = field{kind: kRef}
	fArray  = field{kind: kArray}
	fString = field{kind: kString}
	fRO     = func(k kind) field { return field{kind: k, readOnly: true} }
)

// common fields every record has.
func withCommon(m map[string]field) map[string]field {
	m["id"] = fRO(kInt)
	m["_info"] = fRO(kObject)
	return m
}

// resources is the emulated subset of the API (psa-apis.md 1.10 and 1.11).
func resources() []*resource {
	return []*resource{
		{
			name: Companies, path: "company/companies", object: "company",
			fields: withCommon(map[string]field{
				"identifier": str(30), "name": str(50), "status": fRef, "types": fArray,
				"deletedFlag": fBool, "addressLine1": str(50), "addressLine2": str(50), "city": str(50),
				"state": str(50), "zip": str(12), "country": fRef, "phoneNumber": str(30), "website": str(255),
				"site": fRef, "territory": fRef, "parentCompany": ref(Companies), "customFields": fArray,
			}),
			required: []string{"identifier", "name"}, unique: "identifier",
		},
		{
			name: AgreementTypes, path: "finance/agreements/types", object: "agreementType",
			fields: withCommon(map[string]field{
				"name": str(50), "defaultFlag": fBool, "inactiveFlag": fBool, "prePaymentFlag": fBool,
				"prorateFlag": fBool, "invoicingCycle": fString, "billTime": fString, "billExpenses": fString,
				"billProducts": fString, "billingCycle": fRef, "integrationXRef": str(50),
			}),
			required: []string{"name"},
		},
		{
			name: Agreements, path: "finance/agreements", object: "agreement",
			fields: withCommon(map[string]field{
				"name": str(100), "type": ref(AgreementTypes), "company": ref(Companies), "contact": fRef,
				"parentAgreement": ref(Agreements), "startDate": fTime, "endDate": fTime, "noEndingDateFlag": fBool,
				"cancelledFlag": fBool, "dateCancelled": fTime, "reasonCancelled": str(50),
				"agreementStatus": fRO(kString), "billingCycle": fRef, "billAmount": fNumber, "billStartDate": fTime,
				"nextInvoiceDate": fTime, "prorateFlag": fBool, "prorateFirstBill": fBool,
				"invoiceProratedAdditionsFlag": fBool, "periodType": fString, "invoicingCycle": fString,
				"billTime": fString, "billExpenses": fString, "billProducts": fString, "employeeCompRate": fString,
				"taxable": fBool, "currency": fRef, "customFields": fArray,
			}),
			required: []string{"name", "type", "company"},
			derive:   deriveAgreement,
		},
		{
			name: Additions, path: "finance/agreements/{parentId}/additions", object: "addition",
			parent: Agreements, parentField: "agreementId",
			fields: withCommon(map[string]field{
				"agreementId": fRO(kInt), "product": ref(CatalogItems), "quantity": fNumber, "lessIncluded": fNumber,
				"unitPrice": fNumber, "unitCost": fNumber, "billCustomer": fString, "effectiveDate": fTime,
				"cancelledDate": fTime, "taxableFlag": fBool, "serialNumber": str(50), "invoiceDescription": str(6000),
				"description": str(6000), "purchaseItemFlag": fBool, "specialOrderFlag": fBool,
				"billedQuantity": fRO(kNumber), "uom": str(30), "extPrice": fRO(kNumber), "extCost": fRO(kNumber),
				"sequenceNumber": fNumber, "margin": fRO(kNumber), "prorateCost": fRO(kNumber),
				"proratePrice": fRO(kNumber), "prorateCurrentPeriodFlag": fBool, "agreementStatus": fRO(kString),
				"invoiceGrouping": fRef, "customFields": fArray,
			}),
			required: []string{"product", "billCustomer"},
			validate: validateAddition,
			derive:   deriveAddition,
		},
		{
			name: CatalogItems, path: "procurement/catalog", object: "catalogItem",
			fields: withCommon(map[string]field{
				"identifier": str(75), "description": str(60), "customerDescription": str(6000),
				"category": fRef, "subcategory": fRef, "type": fRef, "productClass": fString,
				"price": fNumber, "cost": fNumber, "unitOfMeasure": fRef, "inactiveFlag": fBool,
				"recurringFlag": fBool, "recurringRevenue": fNumber, "recurringCost": fNumber,
				"recurringBillCycle": fRef, "taxableFlag": fBool, "manufacturerPartNumber": str(50),
				"vendorSku": str(50), "integrationXRef": str(50), "customFields": fArray,
			}),
			required: []string{"identifier", "description"}, unique: "identifier",
			validate: validateCatalogItem,
		},
		{
			name: ConfigurationTypes, path: "company/configurations/types", object: "configurationType",
			fields:   withCommon(map[string]field{"name": str(50), "inactiveFlag": fBool, "systemFlag": fBool}),
			required: []string{"name"},
		},
		{
			// The questions a configuration type asks of its configurations; a configuration
			// answers them in its questions array (validateConfiguration).
			name: ConfigurationTypeQuestions, path: "company/configurations/types/{parentId}/questions", object: "configurationTypeQuestion",
			parent: ConfigurationTypes, parentField: "configurationTypeId",
			fields: withCommon(map[string]field{
				"configurationTypeId": fRO(kInt), "question": str(1000), "fieldType": fString, "entryType": fString,
				"sequenceNumber": fNumber, "numberOfDecimals": fInt, "requiredFlag": fBool, "inactiveFlag": fBool,
			}),
			required: []string{"question", "fieldType"},
			validate: func(_ *Server, d, _, _ doc) []FieldError {
				return oneOf("configurationTypeQuestion", "fieldType", d["fieldType"],
					"TextArea", "Currency", "Date", "Hyperlink", "IPAddress", "Checkbox", "Number", "Percent", "Text", "Password")
			},
		},
		{
			name: Configurations, path: "company/configurations", object: "configuration",
			fields: withCommon(map[string]field{
				"name": str(100), "type": ref(ConfigurationTypes), "company": ref(Companies), "status": fRef,
				"activeFlag": fBool, "deviceIdentifier": str(100), "serialNumber": str(250), "modelNumber": str(50),
				"tagNumber": str(50), "ipAddress": str(50), "macAddress": str(50), "osType": str(250),
				"osInfo": str(250), "managementLink": str(1000), "remoteLink": str(1000), "billFlag": fBool,
				"questions": fArray, "customFields": fArray, "backupSuccesses": fInt, "backupIncomplete": fInt,
				"backupFailed": fInt, "backupRestores": fInt, "lastBackupDate": fTime, "backupServerName": str(50),
				"backupBillableSpaceGb": fNumber, "backupProtectedDeviceList": fString, "backupYear": fInt,
				"backupMonth": fInt,
			}),
			required: []string{"name", "type", "company"},
			validate: validateConfiguration,
			derive:   deriveConfiguration,
		},
		{
			name: ManagementItSolutions, path: "company/managementItSolutions", object: "managementItSolution",
			fields: withCommon(map[string]field{
				"name": str(30), "managementItSolutionType": fString, "managementSolutionName": str(30),
				"noDisplayFlag": fBool,
			}),
			required: []string{"name"},
		},
		{
			name: ManagedDevicesIntegrations, path: "company/managedDevicesIntegrations", object: "managedDevicesIntegration",
			fields: withCommon(map[string]field{
				"name": str(30), "solution": str(30), "portalUrl": str(100), "loginBy": fString,
				"defaultBillingLevel": fString, "integratorLogin": fRef, "matchOnSerialNumberFlag": fBool,
				"disableNewCrossReferencesFlag": fBool, "configBillCustomerFlag": fBool,
				"defaultLocation": fRef, "defaultDepartment": fRef,
			}),
			required: []string{"name", "solution"},
		},
		{
			name: CrossReferences, path: "company/managedDevicesIntegrations/{parentId}/crossReferences", object: "crossReference",
			parent: ManagedDevicesIntegrations,
			fields: withCommon(map[string]field{
				"vendorType": str(255), "vendorLevel": str(255), "agreementType": ref(AgreementTypes),
				"product": ref(CatalogItems), "configurationType": ref(ConfigurationTypes), "inactiveFlag": fBool,
			}),
			required: []string{"vendorType", "vendorLevel"},
		},
		{
			name: ManagementBackups, path: "company/managementBackups", object: "managementBackup",
			fields: withCommon(map[string]field{
				"type": ref(AgreementTypes), "item": ref(CatalogItems), "billingLevel": fString,
			}),
			required: []string{"type", "item", "billingLevel"},
			validate: func(_ *Server, d, _, _ doc) []FieldError {
				return oneOf("managementBackup", "billingLevel", d["billingLevel"], "Detail", "Summary")
			},
		},
	}
}

// oneOf checks an enum field (skipped when absent).
func oneOf(object, name string, v any, allowed ...string) []FieldError {
	s, ok := v.(string)
	if !ok {
		return nil
	}
	for _, a := range allowed {
		if s == a {
			return nil
		}
	}
	return []FieldError{{Code: "InvalidField", Message: "The " + name + " field must be one of " + strings.Join(allowed, ", ") + ".", Resource: object, Field: name}}
}
